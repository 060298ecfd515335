import { setMaxListeners } from 'node:events';

/** Attempts whose deadlines fall in the same slot of this many ms share one signal and one timer. */
export const DEADLINE_SLOT_MS = 20;

interface Slot {
  readonly ac: AbortController;
  readonly end: number;
  readonly ms: number;
  timer: NodeJS.Timeout | undefined;
  /** Attempts still running under it; the slot's timer is dropped when the last one ends. */
  users: number;
}

/**
 * Abort signals for attempts: each aborts when its time runs out or when the engine shuts down.
 * Attempts whose deadlines fall in the same DEADLINE_SLOT_MS share one AbortController and one
 * timer, so an attempt may run up to a slot longer than its time: at thousands of attempts a
 * second, a controller, a signal (an EventTarget) and a timer per attempt were a fifth of what the
 * main thread allocated (AbortSignal.any + AbortSignal.timeout cost several times more still).
 */
export class AttemptDeadlines {
  /** Open slots by the time they end. */
  readonly #slots = new Map<number, Slot>();
  /** Every slot with attempts running, those outside the map included. */
  readonly #live = new Set<Slot>();
  #closed: { reason: unknown } | undefined;

  constructor(
    private readonly slotMs = DEADLINE_SLOT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async run<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const slot = this.#slot(ms);
    slot.users++;
    try {
      return await fn(slot.ac.signal);
    } finally {
      if (--slot.users === 0) this.#drop(slot);
    }
  }

  /** Aborts every running attempt, and every later one at once. */
  abortAll(reason: unknown = new Error('Herald is shutting down.')): void {
    this.#closed = { reason };
    for (const slot of [...this.#live]) {
      this.#drop(slot);
      slot.ac.abort(reason);
    }
  }

  /** Slots open now (for tests: they must not outlive their attempts). */
  get openSlots(): number {
    return this.#live.size;
  }

  #slot(ms: number): Slot {
    if (this.#closed !== undefined) {
      const ac = new AbortController();
      ac.abort(this.#closed.reason);
      return { ac, end: 0, ms, timer: undefined, users: 0 };
    }
    const now = this.now();
    const end = Math.ceil((now + ms) / this.slotMs) * this.slotMs;
    const open = this.#slots.get(end);
    if (open !== undefined && open.ms === ms) return open;
    const ac = new AbortController();
    // A slot's signal is shared by every attempt in it, each handler adding its own abort listener.
    setMaxListeners(0, ac.signal);
    const slot: Slot = { ac, end, ms, timer: undefined, users: 0 };
    slot.timer = setTimeout(() => {
      this.#drop(slot);
      ac.abort(new DOMException(`The attempt ran out of its ${ms} ms.`, 'TimeoutError'));
    }, end - now);
    // An attempt of another length ending in the same slot gets a slot of its own, outside the map.
    if (open === undefined) this.#slots.set(end, slot);
    this.#live.add(slot);
    return slot;
  }

  #drop(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    this.#live.delete(slot);
    if (this.#slots.get(slot.end) === slot) this.#slots.delete(slot.end);
  }
}

/** Whether a signal was aborted because its time ran out (not by a shutdown or a caller). */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}
