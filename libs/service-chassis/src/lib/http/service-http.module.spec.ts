import { Controller, Get, type INestApplication, Post, Req } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import {
  ActsForUser,
  type FrameworkRequest,
  InternalAuthModule,
  nodeRequestOf,
  Public,
  UserProofInterceptor,
} from '@zt/service-utils';
import { z } from 'zod';
import { createHttpAdapter, HTTP_ADAPTERS } from './http-adapter';
import { JsonBody } from './json-body.decorator';
import { JsonBodyInterceptor } from './json-body.interceptor';
import { ServiceHttpModule } from './service-http.module';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
const LIMIT = 2048;

@Controller()
class ProbeController {
  /** Guarded: only a request with the internal token reaches it. */
  @Post('echo')
  echo(
    @JsonBody(z.record(z.unknown())) body: Record<string, unknown>,
    @Req() request: FrameworkRequest & { body?: object },
  ): Record<string, unknown> {
    // What the reader itself made of the text: a plain object (the schema copies it).
    return { body, prototype: Object.getPrototypeOf(request.body) === Object.prototype };
  }

  /** Takes no JSON body: it reads the stream itself, whatever its type. */
  @Public()
  @Post('upload')
  async upload(@Req() request: FrameworkRequest): Promise<{ bytes: number; text: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of nodeRequestOf(request) as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    return { bytes: Buffer.byteLength(text), text };
  }

  @Public()
  @Get('boom')
  boom(): never {
    throw new Error('secret detail');
  }
}

@Controller()
class InterceptedController {
  // Declared above the body, as routes do: the reader still comes first.
  @ActsForUser({ body: 'user_id' })
  @Post('acts')
  acts(@JsonBody(z.object({ user_id: z.string() })) body: { user_id: string }): string {
    return body.user_id;
  }
}

describe(JsonBody.name, () => {
  it('puts the body reader first among the route’s interceptors, before the user proof', () => {
    expect(
      Reflect.getMetadata(INTERCEPTORS_METADATA, InterceptedController.prototype.acts),
    ).toEqual([JsonBodyInterceptor, UserProofInterceptor]);
  });

  it('leaves routes without a JSON body without any interceptor', () => {
    for (const handler of [ProbeController.prototype.upload, ProbeController.prototype.boom]) {
      expect(Reflect.getMetadata(INTERCEPTORS_METADATA, handler)).toBeUndefined();
    }
  });
});

describe.each(HTTP_ADAPTERS)(`${ServiceHttpModule.name} on %s`, (adapter) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        InternalAuthModule.forRoot({ sendToken: TOKEN, acceptedTokens: [TOKEN] }),
        ServiceHttpModule.forRoot({ maxJsonBodyBytes: LIMIT }),
      ],
      controllers: [ProbeController],
    }).compile();
    // As createServiceApp does: no body parser before the guard.
    app = moduleRef.createNestApplication(await createHttpAdapter(adapter), {
      logger: false,
      bodyParser: false,
    });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(() => app.close());

  const post = async (
    path: string,
    body: string,
    headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-internal-token': TOKEN,
    },
  ) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('parses a JSON object strictly into @JsonBody(), after the guard', async () => {
    expect(await post('/echo', '{"a":1,"b":"x"}')).toEqual({
      status: 201,
      body: { body: { a: 1, b: 'x' }, prototype: true },
    });
  });

  it('refuses an unauthenticated body with 403 before reading it, even when it is malformed', async () => {
    const refused = await post('/echo', '{"a":', { 'content-type': 'application/json' });
    expect(refused.status).toBe(403);
  });

  it.each([
    ['a repeated key', '{"a":1,"a":2}'],
    ['a __proto__ key', '{"__proto__":{"admin":true}}'],
    ['malformed JSON', '{"a":'],
    ['a top level that is not an object', '[1,2]'],
  ])('answers 400 to %s', async (_name, text) => {
    const answer = await post('/echo', text);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringMatching(/JSON/) as unknown });
  });

  it('answers 400 when a @JsonBody() route gets no body at all', async () => {
    expect(await post('/echo', '')).toEqual({
      status: 400,
      body: { error: 'request body must be a JSON object' },
    });
  });

  it('answers 415 to a body that is not JSON, and 413 past the limit', async () => {
    expect(
      await post('/echo', 'a=1', {
        'content-type': 'application/x-www-form-urlencoded',
        'x-internal-token': TOKEN,
      }),
    ).toEqual({ status: 415, body: { error: 'Content-Type must be application/json' } });
    expect(await post('/echo', JSON.stringify({ a: 'x'.repeat(LIMIT) }))).toEqual({
      status: 413,
      body: { error: `request body is larger than ${LIMIT} bytes` },
    });
  });

  it('leaves the body of a route without @JsonBody() unread, whatever its type', async () => {
    expect(
      await post('/upload', '{"a":1,"a":2}', { 'content-type': 'application/octet-stream' }),
    ).toEqual({ status: 201, body: { bytes: 13, text: '{"a":1,"a":2}' } });
  });

  it('answers an unknown path and an unexpected error in the one error shape, without detail', async () => {
    const missing = await fetch(`${url}/nowhere/<b>`);
    expect([missing.status, await missing.json()]).toEqual([404, { error: 'not found' }]);
    const boom = await fetch(`${url}/boom`);
    const body = (await boom.json()) as Record<string, unknown>;
    expect([boom.status, body['error']]).toEqual([500, 'internal error']);
    expect(JSON.stringify(body)).not.toContain('secret detail');
  });
});
