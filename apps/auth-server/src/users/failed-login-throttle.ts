import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RateLimitStore, ServiceMetrics, spendPoint } from '@zt/service-chassis';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

/** Failed logins of one email that are allowed within {@link FAILED_LOGIN_WINDOW_SECONDS}. */
export const MAX_FAILED_LOGINS = 10;
/** The window over which failed logins are counted, from the first failure in it. */
export const FAILED_LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Slows online password guessing: after {@link MAX_FAILED_LOGINS} failed logins of one email
 * within {@link FAILED_LOGIN_WINDOW_SECONDS} (counted from the first), further attempts for it
 * are refused before any password work until the window ends. A success clears the count.
 * An attempt is reserved before the password is checked and counts as a failure while it
 * runs, so a parallel burst is throttled as a sequence would be: at most
 * {@link MAX_FAILED_LOGINS} checks, however many arrive at once.
 * Counted in the rate-limit store: in Redis (`REDIS_URL`), the count holds across every replica
 * of the auth server; in memory, per process. Per email, never per address (the address a
 * request comes from is the proxy's to limit). The price: someone who knows an email can keep
 * its owner from logging in for the window.
 */
@Injectable()
export class FailedLoginThrottle {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    store: RateLimitStore,
    private readonly metrics?: ServiceMetrics,
  ) {
    this.limiter = store.limiter('failed-login', MAX_FAILED_LOGINS, FAILED_LOGIN_WINDOW_SECONDS);
  }

  /**
   * Reserves one attempt for `email`.
   * @returns 0 when it may go on, or the milliseconds until it may try again (nothing
   *   reserved). A reserved attempt stays counted as a failure unless ended by
   *   {@link recordSuccess} or {@link release}.
   */
  async reserve(email: string): Promise<number> {
    const waitMs = await spendPoint(this.limiter, keyOf(email));
    // Never labelled with the email: it would put addresses into metrics.
    if (waitMs > 0) this.metrics?.rateLimited('failed_login', '-');
    return waitMs;
  }

  /** Ends a reserved attempt as a successful login: the email's failures are forgotten. */
  async recordSuccess(email: string): Promise<void> {
    await this.limiter.delete(keyOf(email));
  }

  /** Ends a reserved attempt that was never judged (an error before the password check). */
  async release(email: string): Promise<void> {
    const key = keyOf(email);
    // Only while the count is there: a reward on a forgotten count would start one at -1.
    const count = await this.limiter.get(key);
    if (count !== null && count.consumedPoints > 0) await this.limiter.reward(key, 1);
  }
}

// The store's key for an email: its digest, so Redis never holds the addresses.
function keyOf(email: string): string {
  return createHash('sha256').update(email).digest('base64url');
}
