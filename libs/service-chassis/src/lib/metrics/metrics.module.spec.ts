import { Controller, Get, type INestApplication, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InternalAuthModule } from '@zt/service-utils';
import { Public } from '@zt/service-utils';
import { InternalClientModule } from '../client/internal-client.module';
import { MetricsModule } from './metrics.module';
import { ServiceMetrics } from './service-metrics';
import { createHttpAdapter, HTTP_ADAPTERS, type HttpAdapterKind } from '../http/http-adapter';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';
// The read-only scrape credential (METRICS_TOKEN): 256 bits of base64url.
const METRICS_TOKEN = 'mT3q9ZxV7bN2kL8wR4yH6cJ0dF5gA1sE-pO_iU7tYrW';

@Controller()
class ProbeController {
  @Public()
  @Get('items/:id')
  item(@Param('id') id: string): Record<string, string> {
    return { id };
  }
}

async function appWith(adapter: HttpAdapterKind, callerOf?: string[]): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MetricsModule.forRoot({ serviceName: 'probe', processMetrics: false }),
      InternalAuthModule.forRoot({
        sendToken: TOKEN,
        acceptedTokens: [TOKEN],
        metricsToken: METRICS_TOKEN,
      }),
      ...(callerOf
        ? [
            InternalClientModule.forRoot({
              callerName: 'probe',
              upstreams: Object.fromEntries(
                callerOf.map((name) => [name, { baseUrl: 'http://127.0.0.1:9' }]),
              ),
              client: {
                timeoutMs: 100,
                retries: 0,
                breakerResetMs: 1000,
                breakerErrorThresholdPercent: 50,
                breakerVolumeThreshold: 5,
              },
              internalAuth: { sendToken: TOKEN, acceptedTokens: [TOKEN] },
            }),
          ]
        : []),
    ],
    controllers: [ProbeController],
  }).compile();
  const app = moduleRef.createNestApplication(await createHttpAdapter(adapter), { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

describe.each(HTTP_ADAPTERS)(`${MetricsModule.name} on %s`, (adapter) => {
  let app: INestApplication;
  let url: string;

  const scrape = async () => {
    const response = await fetch(`${url}/metrics`, {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    // The Prometheus text format, version 0.0.4.
    expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    return response.text();
  };

  beforeAll(async () => {
    app = await appWith(adapter, ['billing']);
    url = await app.getUrl();
  });

  afterAll(() => app.close());

  it('refuses GET /metrics without the scrape credential, the internal token included, and counts the refusal', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { 'X-INTERNAL-TOKEN': TOKEN },
      { Authorization: `Bearer ${TOKEN}` },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${url}/metrics`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await response.json()).toEqual({ error: 'unauthorized' });
    }
    const text = await scrape();
    expect(text).toContain('internal_auth_denied_total{reason="bearer_missing",service="probe"} 2');
    expect(text).toContain(
      'internal_auth_denied_total{reason="metrics_token_mismatch",service="probe"} 1',
    );
    expect(text).toContain('internal_auth_denied_total{reason="repeated",service="probe"} 0');
  });

  it('times requests by route pattern and status, never by raw path', async () => {
    await fetch(`${url}/items/a`);
    await fetch(`${url}/items/b`);
    await fetch(`${url}/no/such/path/${'x'.repeat(20)}`);
    const text = await scrape();
    expect(text).toContain(
      'http_request_duration_seconds_count{service="probe",method="GET",route="/items/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{service="probe",method="GET",route="unmatched",status_code="404"} 1',
    );
    expect(text).not.toContain('/items/a');
    expect(text).not.toContain('no/such/path');
  });

  it("reports each upstream's breaker state", async () => {
    const text = await scrape();
    expect(text).toContain(
      'internal_circuit_breaker_state{upstream="billing",state="closed",service="probe"} 1',
    );
    expect(text).toContain(
      'internal_circuit_breaker_state{upstream="billing",state="open",service="probe"} 0',
    );
  });

  it('keeps each application in its own registry', async () => {
    const other = await appWith(adapter);
    try {
      const text = await other.get(ServiceMetrics).registry.metrics();
      expect(text).not.toContain('/items/:id');
      expect(text).not.toContain('internal_circuit_breaker_state');
      expect(app.get(ServiceMetrics).registry).not.toBe(other.get(ServiceMetrics).registry);
    } finally {
      await other.close();
    }
  });
});
