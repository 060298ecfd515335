/**
 * (j) The rising-rate ladder shared by Herald's sustained fan-out and RabbitMQ doing
 * the same job: open-loop windows at rising rates until the first that fails, then
 * `refine` bisection steps between the last rate that held and the first that did
 * not (the ladder doubles, so without them the figure could be up to 2× low). A rate
 * is *sustained* when every publish was accepted and every delivery arrived within
 * the grace after its window.
 */
import { summarise, type Summary } from './stats.js';

export interface RateWindow {
  /** Publishes (messages) per second, open loop. */
  rate: number;
  seconds: number;
  /** Publishes scheduled, and how many were accepted (Herald: 2xx; RabbitMQ: confirmed, not nacked). */
  published: number;
  accepted: number;
  statuses: Record<string, number>;
  /** Deliveries expected (published × subscriptions) and distinct deliveries arrived by the end of the window and by the end of the grace. */
  expected: number;
  arrivedByWindowEnd: number;
  arrived: number;
  dupes: number;
  /** Seconds from the end of the window to the last delivery, when all arrived (NaN otherwise; < 0 when they kept pace). */
  catchUpSeconds: number;
  /** Publish ack (Herald) or confirm (RabbitMQ) time from the scheduled send, ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  /** How late the generator itself sent, p99, ms. */
  sendLagP99Ms: number;
  sustained: boolean;
  /** Why the rate was not sustained. */
  reason?: string;
  cpu?: Record<string, number>;
}

export interface LadderRun {
  windows: RateWindow[];
  /** Highest sustained rate (0 if even the lowest failed). */
  best: number;
  /** Every rate of the ladder held: `best` is a lower bound. */
  topPassed: boolean;
}

export interface LadderFigures {
  /** Highest sustained publishes/s, and × subscriptions = deliveries/s. */
  rate: Summary;
  deliveries: Summary;
  /** Runs in which the top of the ladder held (the figure is then a lower bound). */
  topPassedRuns: number;
  /**
   * The highest sustained window's deliveries ÷ (window + catch-up to the last delivery):
   * what was delivered per second, which the grace lets fall below rate × 10 (a short
   * burst can pass by draining in the grace).
   */
  achieved: Summary;
}

function roundRate(r: number): number {
  if (r >= 100) return Math.round(r / 10) * 10;
  return Math.max(1, Math.round(r));
}

/**
 * Climbs `rates` (ascending) and stops at the first that fails. `beforeRefine` runs
 * before each bisection window (it comes after a failed window, whose backlog it must
 * clear: a fresh Herald, purged queues).
 */
export async function climb(rates: number[], refine: number, tryRate: (rate: number) => Promise<RateWindow>, beforeRefine: () => Promise<void>): Promise<LadderRun> {
  const windows: RateWindow[] = [];
  let best = 0;
  let failed: number | undefined;
  for (const rate of rates) {
    const w = await tryRate(rate);
    windows.push(w);
    if (!w.sustained) {
      failed = rate;
      break;
    }
    best = rate;
  }
  if (failed === undefined) return { windows, best, topPassed: true };
  let hi = failed;
  for (let step = 0; step < refine; step++) {
    const mid = roundRate(best > 0 ? Math.sqrt(best * hi) : hi / 2);
    if (mid <= best || mid >= hi) break;
    await beforeRefine();
    const w = await tryRate(mid);
    windows.push(w);
    if (w.sustained) best = mid;
    else hi = mid;
  }
  return { windows, best, topPassed: false };
}

export function summariseLadder(runs: LadderRun[], subscriptions: number): LadderFigures {
  return {
    rate: summarise(runs.map((r) => r.best)),
    deliveries: summarise(runs.map((r) => r.best * subscriptions)),
    topPassedRuns: runs.filter((r) => r.topPassed).length,
    achieved: summarise(runs.map(achievedRate)),
  };
}

/** Deliveries ÷ (window + catch-up) of the run's highest sustained window; NaN if none held. */
export function achievedRate(run: LadderRun): number {
  const w = run.windows.find((x) => x.sustained && x.rate === run.best);
  if (w === undefined) return Number.NaN;
  return w.arrived / (w.seconds + Math.max(0, w.catchUpSeconds));
}

/** `200 ✓ 400 ✓ 800 ✗ (3,120 deliveries missing) 570 ✓`: the windows of one run, for logs and the table. */
export function describeLadder(run: LadderRun): string {
  const catchUp = (w: RateWindow): string => (w.catchUpSeconds > 0.05 ? ` (last delivery +${w.catchUpSeconds.toFixed(1)} s)` : '');
  return run.windows.map((w) => `${w.rate} ${w.sustained ? `✓${catchUp(w)}` : `✗${w.reason === undefined ? '' : ` (${w.reason})`}`}`).join(', ') + (run.topPassed ? ' (top of the ladder held: a lower bound)' : '');
}
