import { Inject, Injectable, Optional } from '@nestjs/common';
import { ServiceMetrics } from '@zt/service-chassis';
import { Gauge } from 'prom-client';
import { FILES_OPTIONS, type FilesOptions } from './files.constants';

/** One upload's share of the {@link UploadBudget}, from `UploadBudget.open()`. */
export interface UploadReservation {
  /** The bytes this upload holds now. */
  readonly bytes: number;
  /**
   * Adds `bytes` to this upload's share when the budget can spare them, and says whether it
   * did (`false`: nothing taken). While the budget is full even 0 bytes are refused, so a
   * body-less or chunked upload does not start then.
   */
  take(bytes: number): boolean;
  /** Gives this upload's whole share back. Only the first call counts. */
  release(): void;
}

/**
 * The upload bytes this process may hold in memory at once, all users together
 * (`BACKEND_UPLOAD_BUDGET_BYTES`). Each upload is buffered whole before it is charged and
 * written (`readUpload`), and the per-user cap bounds only one user's share: without a global
 * bound, many users uploading at once could hold any amount of memory. An upload takes its
 * bytes before they are read (its `Content-Length`, or chunk by chunk as a chunked body
 * arrives) and gives them all back when its request ends, however it ends.
 *
 * Per process, like the per-user cap; reported as `backend_upload_held_bytes` and
 * `backend_upload_budget_bytes` on `GET /metrics`.
 */
@Injectable()
export class UploadBudget {
  /** The budget in bytes. */
  private readonly capacity: number;
  private heldBytes = 0;

  constructor(@Inject(FILES_OPTIONS) options: FilesOptions, @Optional() metrics?: ServiceMetrics) {
    this.capacity = options.uploadBudgetBytes;
    if (metrics) {
      const held = () => this.heldBytes;
      new Gauge({
        name: 'backend_upload_held_bytes',
        help: 'Bytes of upload bodies held in memory now, taken from the upload budget.',
        registers: [metrics.registry],
        // Read at scrape time: the budget itself is the source of truth.
        collect() {
          this.set(held());
        },
      });
      new Gauge({
        name: 'backend_upload_budget_bytes',
        help: 'Bytes of upload bodies the backend may hold in memory at once (BACKEND_UPLOAD_BUDGET_BYTES).',
        registers: [metrics.registry],
      }).set(this.capacity);
    }
  }

  /** The bytes all uploads in progress hold now. */
  get held(): number {
    return this.heldBytes;
  }

  /** Opens the share of one upload, holding nothing yet. Release it when the request ends. */
  open(): UploadReservation {
    let share = 0;
    let released = false;
    return {
      get bytes() {
        return share;
      },
      take: (bytes: number) => {
        if (!Number.isSafeInteger(bytes) || bytes < 0) {
          throw new RangeError(`cannot reserve ${bytes} bytes`);
        }
        // A released share taking again would never be given back.
        if (released) throw new Error('this upload reservation was already released');
        // When full, not even a 0-byte start (a chunked body, before its first chunk) is let in.
        if (this.heldBytes >= this.capacity || this.heldBytes + bytes > this.capacity) {
          return false;
        }
        this.heldBytes += bytes;
        share += bytes;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        // Exactly what this share took, once: the total can never go below zero.
        this.heldBytes -= share;
        share = 0;
      },
    };
  }
}
