/**
 * Load generators on undici `Pool` (keep-alive, no pipelining):
 * - closedLoop: N connections, each sending its next request as soon as the last
 *   answer arrived (throughput). A 429 is an answer like any other: the connection
 *   sends its next request at once (Retry-After is recorded, not honoured);
 * - openLoop: a fixed inter-arrival schedule, never bursts, with each latency
 *   measured from the request's scheduled send time, so a stalled server is
 *   charged for the requests it delayed (no coordinated omission).
 */
import { Pool } from 'undici';
import type { PreparedRequest } from './signing.js';
import { nowMs, percentiles, type Percentiles } from './stats.js';

export interface LiveCounters {
  /** Answers (any status) since the start, warm-up included. */
  completed: number;
  ok: number;
}

export interface ClosedLoopResult {
  /** Successful (2xx) answers per second inside the measured window. */
  rate: number;
  okInWindow: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
  latencyMs: Percentiles;
  /** 429 answers over the whole loop (warm-up included): how many, how many carried Retry-After, and its values. */
  refused: RefusalCounts;
}

export interface RefusalCounts {
  count: number;
  withRetryAfter: number;
  /** Retry-After value → answers carrying it. */
  retryAfter: Record<string, number>;
  /** nowMs() of the first 429 (NaN if none). */
  firstAtMs: number;
}

function newPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

export async function closedLoop(opts: {
  origin: string;
  requests: PreparedRequest[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  live?: LiveCounters;
  /** Called once when the measured window opens. */
  onWindowStart?: () => void;
  /** Stop issuing after this many requests in all (for count-based loads). */
  limit?: number;
}): Promise<ClosedLoopResult> {
  const pool = newPool(opts.origin, opts.connections);
  const live = opts.live ?? { completed: 0, ok: 0 };
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const refused: RefusalCounts = { count: 0, withRetryAfter: 0, retryAfter: {}, firstAtMs: Number.NaN };
  let errors = 0;
  let okInWindow = 0;
  let next = 0;
  const start = nowMs();
  const windowStart = start + opts.warmupMs;
  const end = windowStart + opts.durationMs;
  let windowOpened = false;

  const worker = async (): Promise<void> => {
    while (nowMs() < end && (opts.limit === undefined || next < opts.limit)) {
      const req = opts.requests[next++ % opts.requests.length]!;
      const t = nowMs();
      if (!windowOpened && t >= windowStart) {
        windowOpened = true;
        opts.onWindowStart?.();
      }
      let status = 'error';
      try {
        const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
        await res.body.dump();
        status = String(res.statusCode);
        if (res.statusCode === 429) {
          if (refused.count++ === 0) refused.firstAtMs = nowMs();
          const ra = res.headers['retry-after'];
          const v = Array.isArray(ra) ? ra.join(',') : ra;
          if (v !== undefined && v !== '') {
            refused.withRetryAfter++;
            refused.retryAfter[v] = (refused.retryAfter[v] ?? 0) + 1;
          }
        }
      } catch {
        errors++;
      }
      const done = nowMs();
      live.completed++;
      const ok = status.startsWith('2');
      if (ok) live.ok++;
      // Throughput counts answers that arrived inside the window.
      if (done >= windowStart && done <= end) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (t >= windowStart) latencies.push(done - t);
        if (ok) okInWindow++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  await pool.close();
  const seconds = opts.durationMs / 1000;
  return { rate: okInWindow / seconds, okInWindow, seconds, statuses, errors, latencyMs: percentiles(latencies), refused };
}

export interface OpenLoopResult {
  sent: number;
  statuses: Record<string, number>;
  /** Scheduled send → answer, ms, for 2xx answers. */
  ackMs: Percentiles;
  /** How late the generator itself sent, ms (its own timer slack). */
  sendLagMs: Percentiles;
}

/**
 * Sends requests[i] at t0Ms + offsetsMs[i] (CLOCK_MONOTONIC ms). The caller picks
 * t0Ms a little in the future so it can tell the receiver the epoch first.
 */
export async function openLoop(opts: {
  origin: string;
  requests: PreparedRequest[];
  offsetsMs: number[];
  t0Ms: number;
  connections: number;
  /** Answers so far, for a caller that samples while the loop runs (the soak). */
  live?: LiveCounters;
}): Promise<OpenLoopResult> {
  const pool = newPool(opts.origin, opts.connections);
  const live = opts.live ?? { completed: 0, ok: 0 };
  const statuses: Record<string, number> = {};
  const acks: number[] = [];
  const lags: number[] = [];
  const inflight: Promise<void>[] = [];
  const n = opts.requests.length;
  let i = 0;
  const fire = (k: number, scheduled: number): void => {
    const req = opts.requests[k]!;
    lags.push(nowMs() - scheduled);
    inflight.push(
      pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body }).then(
        async (res) => {
          await res.body.dump();
          const s = String(res.statusCode);
          statuses[s] = (statuses[s] ?? 0) + 1;
          live.completed++;
          if (s.startsWith('2')) {
            live.ok++;
            acks.push(nowMs() - scheduled);
          }
        },
        () => {
          statuses.error = (statuses.error ?? 0) + 1;
          live.completed++;
        },
      ),
    );
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowMs();
      while (i < n && opts.t0Ms + opts.offsetsMs[i]! <= now) {
        fire(i, opts.t0Ms + opts.offsetsMs[i]!);
        i++;
      }
      if (i >= n) return resolve();
      setTimeout(tick, Math.max(0, opts.t0Ms + opts.offsetsMs[i]! - nowMs() - 0.5));
    };
    tick();
  });
  await Promise.all(inflight);
  await pool.close();
  return { sent: n, statuses, ackMs: percentiles(acks), sendLagMs: percentiles(lags) };
}
