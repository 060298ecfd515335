/**
 * Attempts one endpoint may have at once by default: the engine's per-endpoint limit, and so the connections the HTTP
 * client keeps per origin (a webhook endpoint is one origin). With 32 connections under a limit of 64, half of a busy
 * endpoint's attempts queued inside the client for a socket: the drain of (b) ran at 3,400–4,200 deliveries/s
 * instead of 4,900 on the same machine.
 */
export const PER_ENDPOINT = 64;

/**
 * Per-key slots (an endpoint's, a protocol's): deliveries of one key share a small number of
 * concurrent requests, so a slow or failing receiver cannot take every slot. A waiter may carry a
 * group (a delivery thread's abort group) so that an aborted group's waiters leave without a slot.
 */
export class KeyedLimiter {
  private readonly slots = new Map<string, { active: number; waiting: Waiter[] }>();

  constructor(private readonly perKey: number) {}

  /**
   * Takes a slot of the key: true when one is free now, otherwise a promise that resolves true once the slot is
   * handed over (FIFO), or false if the waiter's group was aborted meanwhile (it then holds no slot). Every true is
   * paired with a release(). No task closure: the engine takes two slots per delivery.
   */
  acquire(key: string, group = 0): true | Promise<boolean> {
    let s = this.slots.get(key);
    if (s === undefined) {
      s = { active: 0, waiting: [] };
      this.slots.set(key, s);
    }
    if (s.active < this.perKey) {
      s.active++;
      return true;
    }
    const waiting = s.waiting;
    // The slot is handed over by release(): active stays counted for the waiter.
    return new Promise<boolean>((resolve) => waiting.push({ group, resolve }));
  }

  release(key: string): void {
    const s = this.slots.get(key);
    if (s === undefined) return;
    const next = s.waiting.shift();
    if (next !== undefined) {
      next.resolve(true);
      return;
    }
    s.active--;
    if (s.active === 0) this.slots.delete(key);
  }

  /** The waiters of an aborted group leave without a slot. Aborts are rare (timeouts, shutdown). */
  abortGroup(group: number): void {
    for (const s of this.slots.values()) {
      if (s.waiting.length === 0) continue;
      const kept: Waiter[] = [];
      for (const w of s.waiting) {
        if (w.group === group) w.resolve(false);
        else kept.push(w);
      }
      s.waiting = kept;
    }
  }

  /** Waiters for a slot, all keys together. */
  get waiting(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.waiting.length;
    return n;
  }
}

interface Waiter {
  group: number;
  resolve: (placed: boolean) => void;
}

/** A sleep that a wake-up cuts short. */
export class Waker {
  private pending: (() => void) | undefined;
  private woken = false;

  wake(): void {
    this.woken = true;
    const p = this.pending;
    this.pending = undefined;
    p?.();
  }

  /** Resolves true when the time ran out, false when a wake-up (before or during the sleep) cut it short. */
  async sleep(ms: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return false;
    }
    const ranOut = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.pending = undefined;
        resolve(true);
      }, ms);
      this.pending = () => {
        clearTimeout(t);
        resolve(false);
      };
    });
    this.woken = false;
    return ranOut;
  }
}
