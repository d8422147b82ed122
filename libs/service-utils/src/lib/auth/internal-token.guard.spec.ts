import { Controller, ForbiddenException, Get, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { setVerifiedCaller } from './verified-caller';
import { InternalOnly } from './internal-only.decorator';
import { InternalTokenGuard } from './internal-token.guard';
import { Public } from './public.decorator';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const NEXT = 'Z9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFe';

@Controller()
class ProbeController {
  @Get('private')
  secret(): string {
    return 'secret';
  }

  @Public()
  @Get('health')
  health(): string {
    return 'ok';
  }

  @InternalOnly()
  @Get('metrics')
  metrics(): string {
    return 'metrics';
  }
}

function contextFor(
  handler: keyof ProbeController,
  rawHeaders: string[],
  url = '/private',
  response: object = {},
): ExecutionContextHost {
  const request = {
    rawHeaders,
    method: 'GET',
    path: url.split('?')[0],
    url,
    socket: { remoteAddress: '127.0.0.9' },
  };
  const context = new ExecutionContextHost(
    [request, response],
    ProbeController,
    ProbeController.prototype[handler],
  );
  context.setType('http');
  return context;
}

describe(InternalTokenGuard.name, () => {
  const sut = new InternalTokenGuard(new Reflector(), {
    sendToken: TOKEN,
    acceptedTokens: [TOKEN, NEXT],
  });
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('lets a public route through without a credential', () => {
    expect(sut.canActivate(contextFor('health', []))).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    ['the send token', ['X-INTERNAL-TOKEN', TOKEN]],
    ['an accepted token', ['X-INTERNAL-TOKEN', NEXT]],
    ['a lower-case header name', ['x-internal-token', TOKEN]],
    ['a mixed-case header name', ['X-Internal-Token', TOKEN]],
  ])('lets %s through', (_label, headers) => {
    expect(sut.canActivate(contextFor('secret', headers))).toBe(true);
  });

  it.each([
    ['missing', [], 'missing'],
    ['empty', ['X-INTERNAL-TOKEN', ''], 'empty'],
    ['wrong', ['X-INTERNAL-TOKEN', NEXT.replace('Z', 'Y')], 'mismatch'],
    ['shorter', ['X-INTERNAL-TOKEN', TOKEN.slice(0, 10)], 'mismatch'],
    ['longer', ['X-INTERNAL-TOKEN', TOKEN + TOKEN], 'mismatch'],
    ['repeated', ['X-INTERNAL-TOKEN', TOKEN, 'x-internal-token', TOKEN], 'repeated'],
    [
      'repeated with one wrong copy',
      ['X-INTERNAL-TOKEN', 'wrong', 'X-INTERNAL-TOKEN', TOKEN],
      'repeated',
    ],
    ['comma-joined', ['X-INTERNAL-TOKEN', `${TOKEN},${TOKEN}`], 'comma_joined'],
    ['comma-joined with a space', ['X-INTERNAL-TOKEN', `${TOKEN}, ${NEXT}`], 'comma_joined'],
    ['sent as a bearer token', ['Authorization', `Bearer ${TOKEN}`], 'missing'],
    ['sent under another header', ['X-Internal-Token-Value', TOKEN], 'missing'],
  ])(
    'refuses a %s credential with 403 {"error":"Forbidden"} and one log line',
    (_label, headers, reason) => {
      const attempt = () => sut.canActivate(contextFor('secret', headers));
      expect(attempt).toThrow(ForbiddenException);
      try {
        void attempt();
      } catch (error) {
        expect((error as ForbiddenException).getResponse()).toEqual({ error: 'Forbidden' });
      }
      expect(warn).toHaveBeenCalledWith({
        event: 'internal_auth_denied',
        reason,
        remote_address: '127.0.0.9',
        method: 'GET',
        path: '/private',
      });
      expect(JSON.stringify(warn.mock.calls)).not.toContain(TOKEN.slice(0, 8));
    },
  );

  it('refuses a token sent in the query string and never logs the query', () => {
    expect(() => sut.canActivate(contextFor('secret', [], `/private?token=${TOKEN}`))).toThrow(
      ForbiddenException,
    );
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls)).not.toContain(TOKEN);
  });

  it('refuses an @InternalOnly() route without the credential, although it is out of the global guard', () => {
    expect(() => sut.canActivate(contextFor('metrics', [], '/metrics'))).toThrow(
      ForbiddenException,
    );
    expect(sut.canActivate(contextFor('metrics', ['X-INTERNAL-TOKEN', TOKEN], '/metrics'))).toBe(
      true,
    );
  });

  it('judges an inherited handler by the controller it is served from, also after the first call', () => {
    class BaseController {
      @Get('status')
      status(): string {
        return 'status';
      }
    }
    @Public()
    @Controller('open')
    class OpenController extends BaseController {}
    @Controller('closed')
    class ClosedController extends BaseController {}
    const serve = (controller: typeof BaseController, headers: string[]) => {
      const request = { rawHeaders: headers, method: 'GET', path: '/status', url: '/status' };
      const context = new ExecutionContextHost(
        [{ ...request, socket: { remoteAddress: '127.0.0.9' } }, {}],
        controller,
        BaseController.prototype.status,
      );
      context.setType('http');
      return () => sut.canActivate(context);
    };
    for (let round = 0; round < 2; round++) {
      expect(serve(OpenController, [])()).toBe(true);
      expect(serve(ClosedController, [])).toThrow(ForbiddenException);
      expect(serve(ClosedController, ['X-INTERNAL-TOKEN', TOKEN])()).toBe(true);
    }
  });

  it('reports each refusal, with its reason, to InternalAuthEvents', () => {
    const reasons: string[] = [];
    const counted = new InternalTokenGuard(
      new Reflector(),
      { sendToken: TOKEN, acceptedTokens: [TOKEN] },
      { denied: (reason) => reasons.push(reason) },
    );
    for (const headers of [[], [], ['X-INTERNAL-TOKEN', NEXT]]) {
      expect(() => counted.canActivate(contextFor('secret', headers))).toThrow(ForbiddenException);
    }
    // In `token` mode the guard answers synchronously.
    expect(counted.canActivate(contextFor('secret', ['X-INTERNAL-TOKEN', TOKEN]))).toBe(true);
    expect(counted.canActivate(contextFor('health', []))).toBe(true);

    expect(reasons).toEqual(['missing', 'missing', 'mismatch']);
  });

  it("spends an allowed caller's allowance, and past it answers 429 with Retry-After", async () => {
    const spentBy: string[] = [];
    let waitMs = 0;
    const limited = new InternalTokenGuard(
      new Reflector(),
      { sendToken: TOKEN, acceptedTokens: [TOKEN] },
      undefined,
      {
        admit: async (client) => {
          spentBy.push(client);
          return waitMs;
        },
      },
    );
    const headers: Record<string, string> = {};
    const response = { setHeader: (name: string, value: string) => (headers[name] = value) };
    const contextAs = (caller: string | undefined) => {
      const context = contextFor('secret', ['X-INTERNAL-TOKEN', TOKEN], '/private', response);
      // What a verified service token leaves on the request (jwt modes; see verified-caller).
      if (caller !== undefined) {
        setVerifiedCaller(context.switchToHttp().getRequest(), {
          name: caller,
          scopes: new Set(),
          tokenId: 'jti',
          expiresAt: 0,
        });
      }
      return context;
    };
    const allowed = () => limited.canActivate(contextAs('backend'));

    // Without a verified caller (token mode) nothing is counted: synchronous, as before.
    expect(limited.canActivate(contextAs(undefined))).toBe(true);
    await expect(allowed()).resolves.toBe(true);
    waitMs = 1_500;
    await expect(allowed()).rejects.toMatchObject({
      status: 429,
      response: { error: 'too many requests' },
    });
    expect(headers['Retry-After']).toBe('2');
    // A refused request and an open route spend nothing.
    expect(() => limited.canActivate(contextFor('secret', []))).toThrow(ForbiddenException);
    expect(limited.canActivate(contextFor('health', []))).toBe(true);
    expect(spentBy).toEqual(['backend', 'backend']);
  });
});
