import { Injectable } from '@nestjs/common';

/** Failed logins of one email that are allowed within {@link FAILED_LOGIN_WINDOW_MS}. */
export const MAX_FAILED_LOGINS = 10;
/** The window over which failed logins are counted. */
export const FAILED_LOGIN_WINDOW_MS = 15 * 60 * 1000;
// Emails with failures held in memory at most; the oldest are forgotten first.
const MAX_TRACKED_EMAILS = 100_000;

/**
 * Slows online password guessing: after {@link MAX_FAILED_LOGINS} failed logins of one email
 * within {@link FAILED_LOGIN_WINDOW_MS}, further attempts for it are refused before any
 * password work, until the oldest failure leaves the window. A success clears the count.
 * Per process and per email (the address a request comes from is the proxy's to limit). The
 * price: someone who knows an email can keep its owner from logging in for the window.
 */
@Injectable()
export class FailedLoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds until `email` may try again, or 0 when it may now. */
  retryAfterMs(email: string): number {
    const recent = this.recent(email);
    if (recent.length < MAX_FAILED_LOGINS) return 0;
    return recent[recent.length - MAX_FAILED_LOGINS] + FAILED_LOGIN_WINDOW_MS - this.now();
  }

  recordFailure(email: string): void {
    const recent = this.recent(email);
    recent.push(this.now());
    this.failures.delete(email);
    this.failures.set(email, recent.slice(-MAX_FAILED_LOGINS));
    if (this.failures.size > MAX_TRACKED_EMAILS) {
      this.failures.delete(this.failures.keys().next().value as string);
    }
  }

  recordSuccess(email: string): void {
    this.failures.delete(email);
  }

  private recent(email: string): number[] {
    const since = this.now() - FAILED_LOGIN_WINDOW_MS;
    return (this.failures.get(email) ?? []).filter((at) => at > since);
  }
}
