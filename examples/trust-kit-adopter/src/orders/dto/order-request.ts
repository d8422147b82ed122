import { BadRequestException } from '@nestjs/common';

/** The body of `POST /orders`. */
export interface OrderRequest {
  readonly sku: string;
  readonly quantity: number;
}

const SKU = /^[A-Z0-9-]{1,32}$/;

/** Checks the body of `POST /orders`; 400 `{"error"}` when it is not an {@link OrderRequest}. */
export function parseOrderRequest(body: unknown): OrderRequest {
  const { sku, quantity } = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  if (typeof sku !== 'string' || !SKU.test(sku) || !isQuantity(quantity)) {
    throw new BadRequestException({ error: 'expected {"sku": "A-1", "quantity": 1 to 100}' });
  }
  return { sku, quantity };
}

function isQuantity(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 100;
}
