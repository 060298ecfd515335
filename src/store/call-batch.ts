import type { FunctionCallRecord } from '../core/function-models.js';

/** How long a call record may wait for others to share its write. */
export const CALL_BATCH_WINDOW_MS = 20;
/** A batch this big is written at once. */
export const CALL_BATCH_MAX = 256;

/**
 * Function call records (`herald fn logs`) written in batches: one transaction and one prune per function for
 * every record that arrived within CALL_BATCH_WINDOW_MS, instead of both per call. A record written per call
 * ran on the event loop right after each invoke's answer, just when the caller's next request arrived (the
 * signed invoke API's overhead over the FDK, bench (g)).
 *
 * Reads see every record added before them (the store flushes before it lists), and closing the store writes
 * what is pending; a crash (kill -9) may lose the records of the last window, like the lines of a power cut.
 */
export class CallBatch {
  private pending: { call: FunctionCallRecord; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The write under way: batches are written one after another, in the order their records came. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (calls: FunctionCallRecord[]) => Promise<void>,
    private readonly windowMs = CALL_BATCH_WINDOW_MS,
    private readonly max = CALL_BATCH_MAX,
  ) {}

  /** Resolves once the record is written (rejects when its batch's write failed). */
  add(call: FunctionCallRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ call, resolve, reject });
      if (this.pending.length >= this.max) void this.flush();
      else if (this.timer === null) {
        this.timer = setTimeout(() => void this.flush(), this.windowMs);
        // Pending records alone must not keep the process alive; the store's close writes them.
        this.timer.unref();
      }
    });
  }

  /** Writes every record added so far; resolves when they are written (a failed batch is its records' to report). */
  flush(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.writing = this.writing.then(() =>
        this.write(batch.map((p) => p.call)).then(
          () => batch.forEach((p) => p.resolve()),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        ),
      );
    }
    return this.writing;
  }
}
