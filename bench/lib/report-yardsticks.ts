/**
 * The yardsticks' rows of the results table: (a)'s signed (and durable) publish servers, (b)'s sender built from
 * Herald's own parts and (c)'s signed durable relay, each with what its ratio says of the figure's target in this run.
 * Apart from report.ts, which lays out every other row.
 */
import { DELIVERY_CEILING_CONNECTIONS, type SignedMode } from '../ceilings/index.js';
import type { LatencyFigures } from '../scenarios/latency.js';
import type { BenchResults, Row, StoreResults } from './report.js';
import { fmtNum, fmtRatio, fmtSummary, ratio, targetSummary, type Summary } from './stats.js';

/** report.ts's row of a figure per store against a ceiling or yardstick (figure ÷ `against`). */
export type AddRow = (figure: string, pick: (s: StoreResults) => Summary | undefined, ceiling: string, against: Summary | undefined, target: string, unit?: string) => void;

/** report.ts's row of a figure per store ÷ another of the same store and run (`base`), named in `ceiling`. */
export type AgainstOwnRow = (
  figure: string,
  pick: (s: StoreResults) => Summary | undefined,
  base: (s: StoreResults) => Summary | undefined,
  ceiling: string,
  target: string,
) => void;

/** (a)'s yardsticks: the publish ceiling's server checking signatures, in one process and one per core, and durable. */
export function publishYardstickRows(results: BenchResults, rows: Row[], add: AddRow): void {
  const c = results.ceilings;
  const cfg = results.config;
  const httpCeil = c ? `bare node:http ${fmtSummary(c.publish)}/s` : 'n/a';
  const signed = c?.signedPublish;
  if (c !== undefined && signed !== undefined) {
    // Store-independent (shown in the SQLite column, as (g)): the publish ceiling's server checking signatures too.
    const modes: [SignedMode, string][] = [
      ['inline', 'one process'],
      ['cluster', 'one process per core (node:cluster)'],
    ];
    for (const [mode, label] of modes) {
      const r = ratio(signed[mode], c.publish);
      rows.push({
        figure: `(a) yardstick: bare node:http + the OCI signature check (no store), ${label}, c=${cfg.connections}, req/s`,
        sqlite: fmtSummary(signed[mode]),
        postgres: 'store-independent',
        ceiling: httpCeil,
        rSqlite: fmtRatio(r),
        rPostgres: '—',
        // Said of this run's figure: on some machines of this kind the one-process-per-core server passes 0.60×.
        target: yardstickVerdict(r, 'a server that only checks signatures this way'),
      });
    }
    // Results written before the durable yardstick (2026-12-02) have none.
    const durable = signed.durable as Summary | undefined;
    if (durable !== undefined) {
      rows.push({
        figure: `(a) yardstick: bare node:http + the OCI signature check + each body appended to a file, acknowledged after a group fdatasync (no store), one process, c=${cfg.connections}, req/s`,
        sqlite: fmtSummary(durable),
        postgres: 'store-independent',
        ceiling: httpCeil,
        rSqlite: fmtRatio(ratio(durable, c.publish)),
        rPostgres: '—',
        target: '— (what durability on this disk leaves of the bare ceiling)',
      });
      if (cfg.subCounts.includes(0)) {
        add(
          `(a) durable publishes/s, 0 subscriptions, ÷ the durable signed yardstick`,
          (s) => s.publish?.find((p) => p.subs === 0)?.rate,
          `bare node:http + OCI signature check + group fdatasync ${fmtSummary(durable)}/s`,
          durable,
          '—',
        );
      }
    }
    // Results written before the per-core durable yardstick (2026-12-03) have none.
    const durableCluster = signed['durable-cluster'] as Summary | undefined;
    if (durableCluster !== undefined) {
      const r = ratio(durableCluster, c.publish);
      rows.push({
        figure: `(a) yardstick: bare node:http + the OCI signature check + each body appended to a file, acknowledged after a group fdatasync (no store), one process per core, each with its own file, c=${cfg.connections}, req/s`,
        sqlite: fmtSummary(durableCluster),
        postgres: 'store-independent',
        ceiling: httpCeil,
        rSqlite: fmtRatio(r),
        rPostgres: '—',
        // The most a signed and durable publish endpoint reaches here: what decides whether (a)'s 0.60× can be met.
        target: yardstickVerdict(r, 'a signed and durable endpoint built this way'),
      });
      if (cfg.subCounts.includes(0)) {
        add(
          `(a) durable publishes/s, 0 subscriptions, ÷ the per-core durable signed yardstick`,
          (s) => s.publish?.find((p) => p.subs === 0)?.rate,
          `bare node:http + OCI signature check + group fdatasync, one process per core ${fmtSummary(durableCluster)}/s`,
          durableCluster,
          '—',
        );
      }
    }
    if (cfg.subCounts.includes(0)) {
      const best = signed.cluster.median >= signed.inline.median ? signed.cluster : signed.inline;
      add(
        `(a) durable publishes/s, 0 subscriptions, ÷ the faster signed yardstick`,
        (s) => s.publish?.find((p) => p.subs === 0)?.rate,
        `bare node:http + OCI signature check ${fmtSummary(best)}/s`,
        best,
        '—',
      );
    }
  }
}

/**
 * (b)'s yardstick: Herald's SQLite claims and completions and its webhook handler in one loop on one thread. Its ratio
 * to bare undici bounds what any design built from these parts reaches; Herald's drain ÷ it is what the engine costs.
 */
export function deliveryYardstickRows(results: BenchResults, rows: Row[], add: AddRow): void {
  const c = results.ceilings;
  const cfg = results.config;
  const undiciCeil = c ? `bare undici Pool c=${DELIVERY_CEILING_CONNECTIONS} ${fmtSummary(c.delivery)}/s` : 'n/a';
  // Results written before (b)'s yardstick (2026-12-03) have none.
  const sender = c?.durableSender;
  if (c !== undefined && sender !== undefined) {
    const r = ratio(sender.rate, c.delivery);
    rows.push({
      figure: `(b) yardstick: Herald's own SQLite claims and batched completions and its webhook handler, in one loop on one thread (no engine), a ${fmtNum(cfg.drainMessages * 10)}-delivery backlog, deliveries/s`,
      sqlite: fmtSummary(sender.rate),
      postgres: 'SQLite only',
      ceiling: undiciCeil,
      rSqlite: fmtRatio(r),
      rPostgres: '—',
      target: yardstickVerdict(r, 'a sender built from these parts', '(b)', 0.5),
    });
    // The yardstick runs on SQLite: PostgreSQL's drain is not shown against it (its database server works apart).
    const sqliteOnly = (): void => {
      const row = rows[rows.length - 1]!;
      row.postgres = 'n/a (SQLite yardstick)';
      row.rPostgres = '—';
    };
    add('(b) drain, deliveries/s, ÷ the one-thread yardstick', (s) => s.drain?.rate, `Herald's parts on one thread ${fmtSummary(sender.rate)}/s`, sender.rate, '— (what the engine and its threads add or take)');
    sqliteOnly();
    add(
      '(b) Herald\'s CPU per delivery drained ÷ the one-thread yardstick\'s, µs',
      (s) => s.drain?.cpuUsPerDelivery,
      `the yardstick's CPU per delivery, same run: ${fmtSummary(sender.cpuUs, ' µs')}`,
      sender.cpuUs,
      '—',
      ' µs',
    );
    sqliteOnly();
  }
}

/**
 * (c)'s yardstick at `rate`: a signed and durable relay (`signed-relay.ts`) driven by the same schedule to the same
 * receiver, each of its windows right after one of Herald's. Its latency against (c)'s targets says what this machine
 * leaves of them to any relay; Herald's ÷ the relay's measured beside it is what Herald adds.
 */
export function latencyYardstickRows(results: BenchResults, rate: number, add: AddRow, againstOwn: AgainstOwnRow): void {
  const lat = (s: StoreResults): LatencyFigures | undefined => s.latency?.find((l) => l.rate === rate);
  // Results written before the relay (2026-12-03) have none.
  if (!Object.values(results.stores).some((s) => s !== undefined && lat(s)?.relay !== undefined)) return;
  const quantiles: [string, number, (f: { e2eP50: Summary; e2eP99: Summary }) => Summary][] = [
    ['p50', 3, (f) => f.e2eP50],
    ['p99', 15, (f) => f.e2eP99],
  ];
  for (const [q, target, pick] of quantiles) {
    const relay = (s: StoreResults): Summary | undefined => {
      const r = lat(s)?.relay;
      return r === undefined ? undefined : pick(r);
    };
    add(
      `(c) ${rate}/s × 10: yardstick, a relay that checks the signature, appends the body to a file, forwards it at once and answers after a group fdatasync (no store, one thread), run beside each store's windows: publish→delivery ${q}`,
      relay,
      `target ${target} ms`,
      targetSummary(target),
      `— (≤ 1.00× where this machine leaves (c)’s ${q} target within reach of such a relay, in this run)`,
      ' ms',
    );
    againstOwn(
      `(c) ${rate}/s × 10: publish→delivery ${q} ÷ the relay's`,
      (s) => {
        const l = lat(s);
        return l === undefined ? undefined : pick(l);
      },
      relay,
      `the relay's publish→delivery ${q}`,
      '— (what Herald adds to the hops any relay makes here)',
    );
  }
}

/** What a yardstick's ratio (`who`: what it measures) says of a figure's target ratio (by default (a)'s 0.60×), in this run. */
function yardstickVerdict(r: number, who: string, figure = '(a)', target = 0.6): string {
  if (!Number.isFinite(r)) return '—';
  const t = `${target.toFixed(2)}×`;
  return r < target ? `— (below ${t}: in this run ${figure}’s target is out of reach of ${who})` : `— (at or above ${t}: in this run ${who} reaches ${figure}’s target)`;
}
