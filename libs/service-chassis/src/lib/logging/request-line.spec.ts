import { setVerifiedCaller } from '@zt/service-utils';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestLine } from './logging.module';

describe(requestLine.name, () => {
  const response = {} as ServerResponse;

  it('names the verified calling service, never the asserted X-Caller-Service', () => {
    const request = { rawHeaders: ['X-Caller-Service', 'backend'] } as unknown as IncomingMessage;
    expect(requestLine(request, response, { response_time_ms: 3 })).toEqual({
      req: request,
      res: response,
      response_time_ms: 3,
    });
    setVerifiedCaller(request, {
      name: 'auth-server',
      scopes: new Set(),
      tokenId: 't-1',
      expiresAt: 2_000_000_000,
    });
    expect(requestLine(request, response, { response_time_ms: 3 })).toMatchObject({
      caller: 'auth-server',
    });
  });
});
