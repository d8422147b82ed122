import { Injectable, NotFoundException } from '@nestjs/common';
import { InternalHttpClient } from '@zt/service-chassis';

/** A user's balance, as the ledger service answers it. */
export interface Balance {
  readonly user_id: string;
  readonly balance: number;
}

/** The ledger service, through the chassis's internal client. */
@Injectable()
export class LedgerClient {
  constructor(private readonly client: InternalHttpClient) {}

  /**
   * The balance of `userId`; 404 when the ledger has no account for it. An unreachable
   * ledger (or an open breaker) is `503 {"error":"ledger unavailable"}` from the chassis.
   */
  async balanceOf(userId: string): Promise<Balance> {
    const answer = await this.client.request<Balance>('ledger', {
      method: 'GET',
      path: `/balance/${encodeURIComponent(userId)}`,
      headers: { 'X-User-ID': userId },
    });
    if (answer.status === 404) throw new NotFoundException({ error: 'account not found' });
    return { user_id: userId, balance: answer.data.balance };
  }
}
