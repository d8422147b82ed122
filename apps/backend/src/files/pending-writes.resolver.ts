import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { UpstreamUnavailableError } from '@zt/service-chassis';
import { BillingClient } from '../upstreams/billing.client';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';
import { type WriteOutcome, WriteSettlement } from './write-settlement';

/** What one round of the resolver did. */
export interface ResolverRound {
  readonly captured: number;
  readonly released: number;
  /** Holds it could not settle this round (an upstream unreachable): tried again next round. */
  readonly left: number;
}

/**
 * Finishes the metered writes that their requests left open: a backend that crashed between
 * the hold and the capture, a filesystem or billing that was unreachable, a client that went
 * away. Every `settleIntervalMs` it lists this service's holds still `held` after
 * `settleAfterSeconds` (long past any live request's own settlement), asks the filesystem to
 * resolve each write, and captures or releases the hold by the answer. Refunds are so retried
 * until done. Several backends may run it at once: every step is idempotent.
 */
@Injectable()
export class PendingWritesResolver implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PendingWritesResolver.name);
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<ResolverRound> | undefined;

  constructor(
    private readonly billing: BillingClient,
    private readonly settlement: WriteSettlement,
    @Inject(FILES_OPTIONS) private readonly options: FilesOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.settleOpenHolds(), this.options.settleIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  /** One round; a round already running is joined rather than doubled. */
  settleOpenHolds(): Promise<ResolverRound> {
    this.round ??= this.runRound().finally(() => (this.round = undefined));
    return this.round;
  }

  private async runRound(): Promise<ResolverRound> {
    const done = { captured: 0, released: 0, left: 0 };
    let after: string | undefined;
    try {
      do {
        const page = await this.billing.openHolds(this.options.settleAfterSeconds, after);
        if (page.kind !== 'ok') throw new Error(`GET /holds answered ${page.status}`);
        for (const hold of page.body.holds) {
          let outcome: WriteOutcome;
          try {
            outcome = await this.settlement.resolve(hold.user_id, hold.hold_id);
          } catch (error) {
            // The filesystem's breaker is open: nothing more can be resolved this round.
            if (error instanceof UpstreamUnavailableError && error.reason === 'breaker_open') {
              throw error;
            }
            // A failure this hold may have alone (a 5xx or a timeout of one user's resolve):
            // the holds after it are not held up behind it.
            done.left += 1;
            this.logger.error({
              event: 'write_resolve_failed',
              write_id: hold.hold_id,
              user_id: hold.user_id,
              error: (error as Error).message,
            });
            continue;
          }
          if (await this.settlement.settle(hold.hold_id, hold.user_id, outcome.kind)) {
            done[outcome.kind === 'applied' ? 'captured' : 'released'] += 1;
          } else {
            done.left += 1;
          }
        }
        after = page.body.next_after ?? undefined;
      } while (after !== undefined);
    } catch (error) {
      // An upstream went away mid-round: what is left stays held for the next round.
      done.left += 1;
      this.logger.warn({ event: 'write_resolver_round_failed', error: (error as Error).message });
    }
    if (done.captured + done.released > 0) {
      this.logger.log({ event: 'write_resolver_round', ...done });
    }
    return done;
  }
}
