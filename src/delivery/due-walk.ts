import type { ClaimExclusions, DuePosition } from '../core/deliveries.js';

/**
 * How far back new work of unknown due time sends a walk (rewind): deliveries committed a moment after a walk passed
 * may be due a moment before where it is (due on another node's clock, or when a publish was planned).
 */
export const WALK_TAIL_MS = 1000;

/** Before every delivery due at `at` (a walk goes on after this position). */
const before = (at: number): DuePosition => ({ at: at - 1, id: Number.MAX_SAFE_INTEGER });

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
 * Work committed since with an earlier due time (a retry due at its attempt's end, a publish due when it was
 * planned, what another node committed) sends the walk back to that time (rewind), not over the whole backlog: a
 * walk that reached the end goes on from there, so each wake-up walks what was added since, not a fixed tail of
 * the due order (a second of it was 40,000 entries, ~30 ms, per wake-up under a 10,000-subscription fan-out).
 */
export class DueWalk {
  #walk: { exclude: ClaimExclusions; from: DuePosition; restartAt: number } | undefined;
  /** restart() was called while a step ran: where that step stopped is not where to go on from. */
  #restarted = false;
  /** The earliest rewind() while a step ran (Infinity: none): where that step stopped may be past it. */
  #rewoundDuringStep = Number.POSITIVE_INFINITY;

  constructor(
    private readonly restartMs: number,
    /** How far before the end's millisecond a walk that reached it goes on from (EngineOptions.walkEndTailMs). */
    private readonly endTailMs = 0,
  ) {}

  /** Where a step leaving out `exclude` at `now` starts (null: the beginning). */
  from(now: number, exclude: ClaimExclusions): DuePosition | null {
    this.#restarted = false;
    this.#rewoundDuringStep = Number.POSITIVE_INFINITY;
    const w = this.#walk;
    if (w === undefined || now >= w.restartAt || !stillExcluded(w.exclude, exclude)) {
      this.#walk = undefined;
      return null;
    }
    return w.from;
  }

  /**
   * Records where the step stopped; null: it reached the end of what was due at `now`, and the walk goes on from
   * `now`'s millisecond (what commits in it after the step may be due in it), or endTailMs before it.
   */
  stepped(now: number, exclude: ClaimExclusions, next: DuePosition | null): void {
    if (this.#restarted) return;
    const restartAt = this.#walk?.restartAt ?? now + this.restartMs;
    this.#walk = { exclude, from: earlier(next ?? before(now - this.endTailMs), this.#rewoundDuringStep), restartAt };
  }

  /** Work due from `at` on was committed, perhaps after the walk passed `at`: the walk goes back to it. */
  rewind(at: number): void {
    this.#rewoundDuringStep = Math.min(this.#rewoundDuringStep, at);
    const w = this.#walk;
    if (w !== undefined) w.from = earlier(w.from, at);
  }

  /** Work may be due anywhere behind the walk: the next step starts from the beginning. */
  restart(): void {
    this.#walk = undefined;
    this.#restarted = true;
  }
}

/** `from`, or the position before everything due at `at` if that comes first. */
function earlier(from: DuePosition, at: number): DuePosition {
  return at <= from.at ? before(at) : from;
}
