import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { internalHeaders } from '@zt/service-utils';
import { ORDERS_CONFIG, type OrdersConfig } from '../config/orders.config';

/** What the inventory answers to a reservation. */
export interface Reservation {
  readonly reservation_id: string;
}

/** Calls the inventory service, one internal service calling another, with plain `fetch`. */
@Injectable()
export class InventoryClient {
  private readonly logger = new Logger(InventoryClient.name);

  constructor(@Inject(ORDERS_CONFIG) private readonly config: OrdersConfig) {}

  /** Reserves stock; 503 `{"error":"inventory unavailable"}` when the inventory does not. */
  async reserve(sku: string, quantity: number): Promise<Reservation> {
    try {
      const response = await fetch(`${this.config.inventoryUrl}/reservations`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // Trust kit: exactly { "X-INTERNAL-TOKEN": <the send token> }, built afresh for
          // this call: nothing of the incoming request (its token, its X-User-ID) goes along.
          ...internalHeaders(this.config.internalAuth),
        },
        body: JSON.stringify({ sku, quantity }),
        signal: AbortSignal.timeout(this.config.inventoryTimeoutMs),
        // A redirect would take the credential wherever it points: never follow one.
        redirect: 'error',
      });
      const body = (await response.json()) as Partial<Reservation>;
      if (response.status === 201 && typeof body.reservation_id === 'string') {
        return { reservation_id: body.reservation_id };
      }
      this.logger.warn({ event: 'inventory_refused', status: response.status });
    } catch (error) {
      this.logger.warn({ event: 'inventory_unreachable', error: (error as Error).name });
    }
    throw new ServiceUnavailableException({ error: 'inventory unavailable' });
  }
}
