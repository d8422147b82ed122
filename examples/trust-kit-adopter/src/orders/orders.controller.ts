import { Body, Controller, Get, Post } from '@nestjs/common';
import { ActingUser } from '@zt/service-utils';
import { InventoryClient } from '../inventory/inventory.client';
import { parseOrderRequest } from './dto/order-request';
import { type Order, OrdersService } from './orders.service';

/**
 * Orders, for the user an internal caller acts for. No decorator here: the kit's global guard
 * already refuses every request without the internal credential.
 */
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly inventory: InventoryClient,
  ) {}

  /** `GET /orders`: the orders of the acting user. */
  @Get()
  list(@ActingUser() userId: string): { user_id: string; orders: Order[] } {
    return { user_id: userId, orders: this.orders.listFor(userId) };
  }

  /** `POST /orders {"sku","quantity"}`: reserves the stock at the inventory, then records the order. */
  @Post()
  async place(@ActingUser() userId: string, @Body() body: unknown): Promise<Order> {
    // Trust kit: @ActingUser() reads X-User-ID after the guard, and answers 400 for a bad one.
    const { sku, quantity } = parseOrderRequest(body);
    const { reservation_id } = await this.inventory.reserve(sku, quantity);
    return this.orders.record({ user_id: userId, sku, quantity, reservation_id });
  }
}
