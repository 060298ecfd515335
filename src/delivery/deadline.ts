/**
 * Abort signals for attempts: each aborts when its own time runs out or when the
 * engine shuts down. One AbortController and one timer per attempt; on Node 20,
 * AbortSignal.any + AbortSignal.timeout cost several times that per delivery.
 */
export class AttemptDeadlines {
  readonly #active = new Set<AbortController>();
  #closed: unknown;

  async run<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    if (this.#closed !== undefined) ac.abort(this.#closed);
    const timer = setTimeout(() => ac.abort(new DOMException(`The attempt ran out of its ${ms} ms.`, 'TimeoutError')), ms);
    this.#active.add(ac);
    try {
      return await fn(ac.signal);
    } finally {
      clearTimeout(timer);
      this.#active.delete(ac);
    }
  }

  /** Aborts every running attempt, and every later one at once. */
  abortAll(reason: unknown = new Error('Herald is shutting down.')): void {
    this.#closed = reason;
    for (const ac of this.#active) ac.abort(reason);
  }
}

/** Whether a signal was aborted because its time ran out (not by a shutdown or a caller). */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}
