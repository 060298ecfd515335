/**
 * A delivery thread's own per-endpoint limit: at most `perKey` sends of one endpoint at once, the rest waiting in
 * order. With the limit kept on the main thread, every freed place waited for the main thread's next turn to be
 * filled (the answer crossed over, the engine started the next attempt, the send crossed back): in (b)'s drain
 * the main thread saw a send take 6.3 ms at the median where the thread's own request took 3.3, and one endpoint's
 * 64 places went round at that pace. Here a finished send hands its place to the next waiting one at once.
 */

interface Waiting {
  group: number;
  resolve: (started: boolean) => void;
}

interface Key {
  active: number;
  waiting: Waiting[];
}

export class EndpointQueue {
  private readonly keys = new Map<string, Key>();

  constructor(private readonly perKey: number) {}

  /**
   * Takes a place of the key: true when one is free now, otherwise a promise that resolves true once the place is
   * handed over, or false if the send's abort group was aborted while it waited (it then holds no place). Every
   * true is paired with a leave().
   */
  enter(key: string, group: number): true | Promise<boolean> {
    let k = this.keys.get(key);
    if (k === undefined) {
      k = { active: 0, waiting: [] };
      this.keys.set(key, k);
    }
    if (k.active < this.perKey) {
      k.active++;
      return true;
    }
    const waiting = k.waiting;
    return new Promise<boolean>((resolve) => waiting.push({ group, resolve }));
  }

  /** A send is done: its place goes to the oldest waiting send of the key. */
  leave(key: string): void {
    const k = this.keys.get(key);
    if (k === undefined) return;
    const next = k.waiting.shift();
    if (next !== undefined) {
      // The place passes on: active stays counted for it.
      next.resolve(true);
      return;
    }
    k.active--;
    if (k.active === 0) this.keys.delete(key);
  }

  /** The sends of an aborted group still waiting leave the queue unsent. Aborts are rare (timeouts, shutdown). */
  abortGroup(group: number): void {
    for (const k of this.keys.values()) {
      if (k.waiting.length === 0) continue;
      const kept: Waiting[] = [];
      for (const w of k.waiting) {
        if (w.group === group) w.resolve(false);
        else kept.push(w);
      }
      k.waiting = kept;
    }
  }

  /** Sends waiting for a place, all endpoints together. */
  get waiting(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.waiting.length;
    return n;
  }
}
