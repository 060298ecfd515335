/**
 * Attempts one endpoint may have at once by default: the engine's per-endpoint limit, and so the connections the HTTP
 * client keeps per origin (a webhook endpoint is one origin). With 32 connections under a limit of 64, half of a busy
 * endpoint's attempts queued inside the client for a socket: the drain of (b) ran at 3,400–4,200 deliveries/s
 * instead of 4,900 on the same machine.
 */
export const PER_ENDPOINT = 64;

/**
 * Per-endpoint slots: deliveries to one endpoint share a small number of
 * concurrent requests, so a slow or failing receiver cannot take every slot.
 */
export class KeyedLimiter {
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(private readonly perKey: number) {}

  /**
   * Takes a slot of the key: undefined when one is free now, otherwise a promise of the slot (FIFO). Every
   * acquire is paired with a release(). No task closure: the engine takes two slots per delivery.
   */
  acquire(key: string): Promise<void> | undefined {
    let s = this.slots.get(key);
    if (s === undefined) {
      s = { active: 0, waiting: [] };
      this.slots.set(key, s);
    }
    if (s.active < this.perKey) {
      s.active++;
      return undefined;
    }
    const slot = s;
    // The slot is handed over by release(): active stays counted for the waiter.
    return new Promise<void>((resolve) => slot.waiting.push(resolve));
  }

  release(key: string): void {
    const s = this.slots.get(key);
    if (s === undefined) return;
    const next = s.waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    s.active--;
    if (s.active === 0) this.slots.delete(key);
  }
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

  async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.pending = undefined;
        resolve();
      }, ms);
      this.pending = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.woken = false;
  }
}
