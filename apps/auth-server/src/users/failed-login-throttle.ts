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
 * An attempt is reserved before the password is checked and counts as a failure while it
 * runs, so a parallel burst is throttled as a sequence would be: at most
 * {@link MAX_FAILED_LOGINS} checks, however many arrive at once.
 * Per process and per email (the address a request comes from is the proxy's to limit). The
 * price: someone who knows an email can keep its owner from logging in for the window.
 */
@Injectable()
export class FailedLoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Reserves one attempt for `email`.
   * @returns 0 when it may go on (end it with {@link recordFailure}, {@link recordSuccess} or
   *   {@link release}), or the milliseconds until it may try again (nothing reserved).
   */
  reserve(email: string): number {
    const recent = this.recent(email);
    const running = this.inFlight.get(email) ?? 0;
    if (recent.length + running >= MAX_FAILED_LOGINS) {
      // The oldest failure that keeps the count at the limit; attempts in flight may free
      // their place sooner, so a second is the least a caller is told to wait.
      const blocking = recent[recent.length + running - MAX_FAILED_LOGINS];
      return blocking === undefined
        ? 1000
        : Math.max(1, blocking + FAILED_LOGIN_WINDOW_MS - this.now());
    }
    this.inFlight.set(email, running + 1);
    return 0;
  }

  /** Ends a reserved attempt as a failed login. */
  recordFailure(email: string): void {
    this.release(email);
    const recent = this.recent(email);
    recent.push(this.now());
    this.failures.delete(email);
    this.failures.set(email, recent.slice(-MAX_FAILED_LOGINS));
    if (this.failures.size > MAX_TRACKED_EMAILS) {
      this.failures.delete(this.failures.keys().next().value as string);
    }
  }

  /** Ends a reserved attempt as a successful login: the email's failures are forgotten. */
  recordSuccess(email: string): void {
    this.release(email);
    this.failures.delete(email);
  }

  /** Ends a reserved attempt that was never judged (an error before the password check). */
  release(email: string): void {
    const left = (this.inFlight.get(email) ?? 1) - 1;
    if (left <= 0) this.inFlight.delete(email);
    else this.inFlight.set(email, left);
  }

  private recent(email: string): number[] {
    const since = this.now() - FAILED_LOGIN_WINDOW_MS;
    return (this.failures.get(email) ?? []).filter((at) => at > since);
  }
}
