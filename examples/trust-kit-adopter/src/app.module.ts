import { type DynamicModule, Module } from '@nestjs/common';
import { InternalAuthModule } from '@zt/service-utils';
import { ORDERS_CONFIG, type OrdersConfig } from './config/orders.config';
import { HealthController } from './health/health.controller';
import { InventoryClient } from './inventory/inventory.client';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';

/** The orders service: health is open, every other route needs the internal credential. */
@Module({})
export class AppModule {
  static forRoot(config: OrdersConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Trust kit: every route of the app needs X-INTERNAL-TOKEN unless it says @Public().
        InternalAuthModule.forRoot(config.internalAuth),
      ],
      controllers: [HealthController, OrdersController],
      providers: [{ provide: ORDERS_CONFIG, useValue: config }, OrdersService, InventoryClient],
    };
  }
}
