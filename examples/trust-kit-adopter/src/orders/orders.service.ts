import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** One order, as the API answers it. */
export interface Order {
  readonly id: string;
  readonly user_id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly reservation_id: string;
}

/** Keeps the orders (in memory: the sample is about trust, not storage). */
@Injectable()
export class OrdersService {
  private readonly orders: Order[] = [];

  listFor(userId: string): Order[] {
    return this.orders.filter((order) => order.user_id === userId);
  }

  record(order: Omit<Order, 'id'>): Order {
    const saved = { id: randomUUID(), ...order };
    this.orders.push(saved);
    return saved;
  }
}
