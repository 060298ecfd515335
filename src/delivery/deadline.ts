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
  /** Open slots by attempt length, then by the time they end (an engine uses one length: one inner map). */
  readonly #slots = new Map<number, Map<number, Slot>>();
  /** Set by abortAll: every later attempt gets this signal, aborted already. */
  #closed: AbortSignal | undefined;

  constructor(
    private readonly slotMs = DEADLINE_SLOT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async run<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#closed !== undefined) return fn(this.#closed);
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
    this.#closed = AbortSignal.abort(reason);
    const open = [...this.#slots.values()].flatMap((byEnd) => [...byEnd.values()]);
    for (const slot of open) {
      this.#drop(slot);
      slot.ac.abort(reason);
    }
  }

  /** Slots open now (for tests: they must not outlive their attempts). */
  get openSlots(): number {
    let n = 0;
    for (const byEnd of this.#slots.values()) n += byEnd.size;
    return n;
  }

  #slot(ms: number): Slot {
    const now = this.now();
    const end = Math.ceil((now + ms) / this.slotMs) * this.slotMs;
    let byEnd = this.#slots.get(ms);
    if (byEnd === undefined) {
      byEnd = new Map();
      this.#slots.set(ms, byEnd);
    }
    const open = byEnd.get(end);
    if (open !== undefined) return open;
    const ac = new AbortController();
    // A slot's signal is shared by every attempt in it, each handler adding its own abort listener.
    setMaxListeners(0, ac.signal);
    const slot: Slot = { ac, end, ms, timer: undefined, users: 0 };
    slot.timer = setTimeout(() => {
      this.#drop(slot);
      ac.abort(new DOMException(`The attempt ran out of its ${ms} ms.`, 'TimeoutError'));
    }, end - now);
    byEnd.set(end, slot);
    return slot;
  }

  #drop(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const byEnd = this.#slots.get(slot.ms);
    if (byEnd?.get(slot.end) === slot) byEnd.delete(slot.end);
  }
}

/** Whether a signal was aborted because its time ran out (not by a shutdown or a caller). */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}
