import {
  HttpStatus,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { USER_ID_PATTERN } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';
import { Pool, types } from 'pg';

/** Injection token of the PostgreSQL URL (or `undefined`: no database routes). */
export const BENCH_DATABASE_URL = Symbol('BENCH_DATABASE_URL');

/** What both the guarded and the open routes answer: billing's `GET /balance` shape. */
export interface Balance {
  readonly user_id: string;
  readonly tier: string;
  readonly balance: number;
}

const INT8_OID = 20;
const SCHEMA = 'bench_guard';
const MICROS_PER_CREDIT = 1_000_000n;
const ACCOUNTS = 64;

/**
 * The one handler behind both route sets of the guard fixture: a balance read, either from
 * memory (no I/O: the guard's cost against the framework alone) or with billing's own
 * `SELECT` on a PostgreSQL table shaped like billing's `accounts` (a real read route).
 */
@Injectable()
export class BalanceReader implements OnModuleInit, OnApplicationShutdown {
  private readonly memory = new Map<string, { tier: string; balance: bigint }>();
  private readonly pool: Pool | undefined;

  constructor(@Inject(BENCH_DATABASE_URL) databaseUrl: string | undefined) {
    for (let i = 0; i < ACCOUNTS; i += 1) {
      this.memory.set(`user-${i}`, { tier: 'pro', balance: 5n * MICROS_PER_CREDIT });
    }
    this.pool =
      databaseUrl === undefined
        ? undefined
        : new Pool({
            connectionString: databaseUrl,
            // The same pool settings as the billing server's (libs/database PgDatabase).
            max: 10,
            connectionTimeoutMillis: 5_000,
            options: `-c search_path=${SCHEMA}`,
            types: {
              getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
                oid === INT8_OID
                  ? (value: string) => BigInt(value)
                  : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
            },
          });
    this.pool?.on('error', () => undefined);
  }

  async onModuleInit(): Promise<void> {
    if (!this.pool) return;
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS accounts (
         user_id text PRIMARY KEY, tier text NOT NULL, balance bigint NOT NULL)`,
    );
    for (const [userId, account] of this.memory) {
      await this.pool.query(
        `INSERT INTO accounts (user_id, tier, balance) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING`,
        [userId, account.tier, account.balance.toString()],
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end();
  }

  /** The balance of `userId` held in memory. */
  fromMemory(userId: string): Balance {
    checkUserId(userId);
    const account = this.memory.get(userId);
    if (!account) throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
    return toBalance(userId, account.tier, account.balance);
  }

  /** The balance of `userId`, read with the billing server's statement. */
  async fromDatabase(userId: string): Promise<Balance> {
    checkUserId(userId);
    if (!this.pool) throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'no database');
    const result = await this.pool.query<{ user_id: string; tier: string; balance: bigint }>(
      'SELECT user_id, tier, balance FROM accounts WHERE user_id = $1',
      [userId],
    );
    const row = result.rows[0];
    if (!row) throw new HttpError(HttpStatus.NOT_FOUND, 'account not found');
    return toBalance(row.user_id, row.tier, row.balance);
  }
}

function checkUserId(userId: string): void {
  if (!USER_ID_PATTERN.test(userId)) throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid user_id');
}

function toBalance(userId: string, tier: string, micros: bigint): Balance {
  return { user_id: userId, tier, balance: Number(micros) / Number(MICROS_PER_CREDIT) };
}
