import type { ClaimExclusions, DuePosition } from '../core/deliveries.js';

/**
 * How far back a walk that reached the end goes on from: deliveries committed a moment after a walk may be due a
 * moment before its end (due when their publish was planned, or on another node's clock).
 */
const WALK_TAIL_MS = 1000;

/** Whether `now` leaves out everything `before` did. */
export function stillExcluded(before: ClaimExclusions, now: ClaimExclusions): boolean {
  const within = (xs: readonly string[], ys: readonly string[]): boolean => {
    const set = new Set(ys);
    return xs.every((x) => set.has(x));
  };
  return within(before.endpoints, now.endpoints) && within(before.subscriptions, now.subscriptions);
}

/**
 * Where the engine's claims that leave endpoints out (claimDeliveriesWalking) have walked the due order to, what
 * they left out, and when the walk starts over from the beginning. Deliveries created since a walk passed are due
 * after it (due at their creation), so the next step, and a wake-up, go on from there instead of walking a full
 * endpoint's backlog again (with 100,000 of them, ~90 ms of the main thread per walk, several times a second while
 * publishes wake it). Going on is sound while nothing the walk passed has become claimable: the claim leaves out at
 * least as much as then (an endpoint that reopened and filled again in between had its oldest deliveries claimed
 * from the start, and the rest are left out again). What goes back in line behind the walk (claims handed back keep
 * their old due time) needs restart(); starting over every `restartMs` finds what other nodes handed back there.
 */
export class DueWalk {
  #walk: { exclude: ClaimExclusions; from: DuePosition; restartAt: number } | undefined;
  /** restart() was called while a step ran: where that step stopped is not where to go on from. */
  #restarted = false;

  constructor(private readonly restartMs: number) {}

  /** Where a step leaving out `exclude` at `now` starts (null: the beginning). */
  from(now: number, exclude: ClaimExclusions): DuePosition | null {
    this.#restarted = false;
    const w = this.#walk;
    if (w === undefined || now >= w.restartAt || !stillExcluded(w.exclude, exclude)) {
      this.#walk = undefined;
      return null;
    }
    return w.from;
  }

  /** Records where the step stopped; null: it reached the end of what was due at `now`. */
  stepped(now: number, exclude: ClaimExclusions, next: DuePosition | null): void {
    if (this.#restarted) return;
    const restartAt = this.#walk?.restartAt ?? now + this.restartMs;
    this.#walk = { exclude, from: next ?? { at: now - WALK_TAIL_MS, id: Number.MAX_SAFE_INTEGER }, restartAt };
  }

  /** Work may be due behind the walk: the next step starts from the beginning. */
  restart(): void {
    this.#walk = undefined;
    this.#restarted = true;
  }
}
