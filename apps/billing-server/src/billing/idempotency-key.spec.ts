import { setVerifiedCaller } from '@zt/service-utils';
import type { IncomingMessage } from 'node:http';
import { readCallerService, readIdempotencyKey } from './idempotency-key';

const requestWith = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as IncomingMessage;

describe('the namespace of idempotency keys and holds', () => {
  it('is the asserted X-Caller-Service without a verified service token', () => {
    expect(readCallerService(requestWith(['X-Caller-Service', 'backend']))).toBe('backend');
    expect(readCallerService(requestWith([]))).toBe('unspecified');
  });

  it("is the verified caller's when its service token was verified, whatever the header says", () => {
    const request = requestWith(['X-Caller-Service', 'backend', 'Idempotency-Key', 'k-1']);
    setVerifiedCaller(request, {
      name: 'auth-server',
      scopes: new Set(['billing:charge']),
      tokenId: 't-1',
      expiresAt: 2_000_000_000,
    });
    expect(readCallerService(request)).toBe('auth-server');
    expect(readIdempotencyKey(request)).toEqual({ caller: 'auth-server', key: 'k-1' });
  });
});
