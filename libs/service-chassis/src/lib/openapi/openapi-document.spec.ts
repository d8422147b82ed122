import { Controller, Get, type INestApplication, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InternalOnly } from '@zt/service-utils';
import { InternalAuthModule } from '@zt/service-utils';
import { Public } from '@zt/service-utils';
import { createOpenApiDocument } from './openapi-document';
import { createHttpAdapter, HTTP_ADAPTERS } from '../http/http-adapter';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';

@Controller()
class ProbeController {
  @Public()
  @Get('open')
  open(): string {
    return 'open';
  }

  @InternalOnly()
  @Get('operators')
  operators(): string {
    return 'operators';
  }

  @Post('guarded')
  guarded(): string {
    return 'guarded';
  }
}

describe.each(HTTP_ADAPTERS)(`${createOpenApiDocument.name} on %s`, (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [InternalAuthModule.forRoot({ sendToken: TOKEN, acceptedTokens: [TOKEN] })],
      controllers: [ProbeController],
    }).compile();
    app = moduleRef.createNestApplication(await createHttpAdapter(adapter), { logger: false });
    await app.init();
  });

  afterAll(() => app.close());

  it.each(['internal-token', 'bearer'] as const)(
    "derives each operation's security from the guards' metadata (%s service)",
    (auth) => {
      const document = createOpenApiDocument(app, { title: 'probe', description: 'd', auth });
      expect(document.info).toMatchObject({ title: 'probe', description: 'd', version: '1' });
      expect(document.paths['/open'].get?.security).toEqual([]);
      expect(document.paths['/operators'].get?.security).toEqual([{ 'internal-token': [] }]);
      expect(document.paths['/operators'].get?.responses['403']).toBeDefined();
      const guarded = document.paths['/guarded'].post;
      if (auth === 'internal-token') {
        expect(guarded?.security).toEqual([{ 'internal-token': [] }]);
        expect(guarded?.responses['403']).toMatchObject({
          description: expect.stringContaining('Forbidden'),
        });
        expect(document.components?.securitySchemes).not.toHaveProperty('bearer');
      } else {
        expect(guarded?.security).toEqual([{ bearer: [] }]);
        expect(guarded?.responses['401']).toMatchObject({
          description: expect.stringContaining('unauthorized'),
        });
        expect(document.components?.securitySchemes?.['bearer']).toMatchObject({
          scheme: 'bearer',
        });
      }
      expect(document.components?.securitySchemes?.['internal-token']).toEqual(
        expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-INTERNAL-TOKEN' }),
      );
      expect(JSON.stringify(document)).not.toContain(TOKEN);
    },
  );
});
