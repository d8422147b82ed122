import { HttpModule, HttpService } from '@nestjs/axios';
import {
  type DynamicModule,
  Inject,
  Injectable,
  type INestApplicationContext,
  Module,
  type OnModuleInit,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { InternalAuthConfig } from '@zt/service-utils';
import {
  generateToken,
  headerLines,
  type ScriptedServer,
  sendJson,
  startScriptedServer,
} from '@zt/test-kit';
import { firstValueFrom } from 'rxjs';
import { installInternalHeaders } from './internal-headers.interceptor';

interface InventoryConfig {
  readonly inventoryUrl: string;
  readonly timeoutMs: number;
  readonly internalAuth: InternalAuthConfig;
}

const INVENTORY_CONFIG = Symbol('INVENTORY_CONFIG');

// #region nest-module
/** Installs the kit's credential on this module's HttpService, once, at start. */
@Injectable()
class InternalCredentialSetup implements OnModuleInit {
  constructor(
    private readonly http: HttpService,
    @Inject(INVENTORY_CONFIG) private readonly config: InventoryConfig,
  ) {}

  onModuleInit(): void {
    installInternalHeaders(this.http.axiosRef, { credential: this.config.internalAuth });
  }
}

/** Calls the inventory service with @nestjs/axios, as before: the credential is added below. */
@Injectable()
export class InventoryGateway {
  constructor(private readonly http: HttpService) {}

  async stock(sku: string): Promise<{ sku: string; available: number }> {
    const path = `/stock/${encodeURIComponent(sku)}`;
    const { data } = await firstValueFrom(this.http.get<{ sku: string; available: number }>(path));
    return data;
  }
}

/** HttpModule.register gives this module an axios instance of its own, bound to the inventory. */
@Module({})
export class InventoryModule {
  static forRoot(config: InventoryConfig): DynamicModule {
    return {
      module: InventoryModule,
      imports: [HttpModule.register({ baseURL: config.inventoryUrl, timeout: config.timeoutMs })],
      providers: [
        { provide: INVENTORY_CONFIG, useValue: config },
        InternalCredentialSetup,
        InventoryGateway,
      ],
      exports: [InventoryGateway],
    };
  }
}
// #endregion

/** Somewhere else in the same app: HttpModule for calls to the outside world. */
@Injectable()
class WeatherGateway {
  constructor(private readonly http: HttpService) {}

  async today(baseUrl: string): Promise<unknown> {
    return (await firstValueFrom(this.http.get(`${baseUrl}/today`))).data;
  }
}

describe('the trust kit on @nestjs/axios (HttpModule), against a real server', () => {
  const token = generateToken();
  let inventory: ScriptedServer;
  let app: INestApplicationContext;

  beforeAll(async () => {
    inventory = await startScriptedServer((seen, response) =>
      sendJson(response, 200, { sku: decodeURIComponent(seen.url.split('/')[2]), available: 7 }),
    );
    const testing = await Test.createTestingModule({
      imports: [
        InventoryModule.forRoot({
          inventoryUrl: inventory.url,
          timeoutMs: 3000,
          internalAuth: { sendToken: token, acceptedTokens: [token] },
        }),
        HttpModule,
      ],
      providers: [WeatherGateway],
    }).compile();
    app = await testing.createNestApplication({ logger: false }).init();
  });

  afterAll(async () => {
    await app?.close();
    await inventory?.close();
  });

  it('adds exactly the kit credential to the calls of the module that installed it', async () => {
    expect(await app.get(InventoryGateway).stock('A-1')).toEqual({ sku: 'A-1', available: 7 });
    const [seen] = inventory.seen.slice(-1);
    expect(seen.url).toBe('/stock/A-1');
    expect(headerLines(seen, 'X-INTERNAL-TOKEN')).toEqual([token]);
  });

  it('leaves the app’s other HttpModule instances alone', async () => {
    await app.get(WeatherGateway).today(inventory.url);
    const [seen] = inventory.seen.slice(-1);
    expect(seen.url).toBe('/today');
    expect(headerLines(seen, 'X-INTERNAL-TOKEN')).toEqual([]);
  });
});
