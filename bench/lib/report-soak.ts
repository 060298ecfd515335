/**
 * The soak's (i) rows and sentences for the results table. Kept apart from report.ts
 * because its figures are single runs with nullable readings (a metric the build does
 * not export is "n/a", not 0), so they are formatted here rather than as Summaries.
 */
import type { SoakFigures, SoakRun } from '../scenarios/soak.js';
import type { StoreKind } from './config.js';
import type { BenchResults, Row, StoreResults } from './report.js';
import { fmtNum, fmtRatio } from './stats.js';

const RSS_TARGET_MB = 200;
const E2E_P99_TARGET_MS = 15;

const show = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined ? 'n/a' : `${fmtNum(v)}${unit}`);
const pair = (a: number | null, b: number | null, unit = ''): string => (a === null && b === null ? 'n/a' : `${show(a)} / ${show(b)}${unit}`);

function runOf(s: StoreResults | undefined, withRetention: boolean): SoakRun | undefined {
  return s?.soak?.runs.find((r) => (r.retention !== null) === withRetention);
}

export function soakRows(results: BenchResults): Row[] {
  const cfg = results.config;
  const rows: Row[] = [];
  for (const withRetention of [false, true]) {
    const mode = withRetention ? `HERALD_MESSAGE_RETENTION=${cfg.soakRetention}` : 'no retention (Herald default)';
    const p = `(i) soak ${fmtNum(cfg.soakRate)}/s × 3, ${fmtNum(cfg.soakSeconds)} s, ${mode}`;
    const row = (figure: string, cell: (r: SoakRun, k: StoreKind) => string, ceiling = '—', target = '—', r?: (r: SoakRun) => number | null): void => {
      const v = (k: StoreKind): string => {
        const s = results.stores[k];
        if (s === undefined) return '—';
        const run = runOf(s, withRetention);
        return run === undefined ? 'n/a' : cell(run, k);
      };
      const q = (k: StoreKind): string => {
        const run = runOf(results.stores[k], withRetention);
        const x = run === undefined || r === undefined ? null : r(run);
        return x === null ? '—' : fmtRatio(x);
      };
      rows.push({ figure: `${p}: ${figure}`, sqlite: v('sqlite'), postgres: v('postgres'), ceiling, rSqlite: q('sqlite'), rPostgres: q('postgres'), target });
    };
    row('publishes accepted / refused (non-2xx or failed)', (r) => `${fmtNum(r.accepted)} / ${fmtNum(r.refused)}`, '—', '0 refused');
    row('Herald RSS peak / final, MB', (r) => pair(r.peakRssMb, r.finalRssMb, ' MB'), `target ${RSS_TARGET_MB} MB (peak ÷ target)`, `≤ ${RSS_TARGET_MB} MB, flat`, (r) =>
      r.peakRssMb === null ? null : r.peakRssMb / RSS_TARGET_MB,
    );
    row('WAL file peak / final, MB', (r, k) => (k === 'postgres' ? 'n/a (server-wide WAL)' : pair(r.peakWalMb, r.finalWalMb, ' MB')), '—', 'bounded');
    row('database at the end, MB (SQLite herald.db; PostgreSQL tables + indexes)', (r) => show(r.finalDbMb, ' MB'));
    row(
      'database growth over the last third, MB',
      (r) => `${show(r.dbGrowthLastThirdMb, ' MB')} (whole run ${show(r.dbGrowthMb, ' MB')})`,
      '—',
      withRetention ? '≈ 0 (retention window full)' : '— (every message kept)',
    );
    row('max delivery lag in the samples (queue depth + in flight + fan-out backlog), deliveries', (r) => show(r.maxLag), '—', 'small (the receiver answers at once)');
    row('longest writer pause for a WAL restart (herald_store_wal_pause_max_seconds), ms', (r) => show(r.maxWalPauseMs, ' ms'));
    row(
      'publish→delivery p99 (1 publish in 25 probed)',
      (r) => `${show(r.e2e.p99, ' ms')}${r.missing > 0 ? ` (${fmtNum(r.missing)} of ${fmtNum(r.probeDeliveries)} missing)` : ''}`,
      `target ${E2E_P99_TARGET_MS} ms (as (c))`,
      `≤ ${E2E_P99_TARGET_MS} ms (≤ 1.00×)`,
      (r) => r.e2e.p99 / E2E_P99_TARGET_MS,
    );
    if (withRetention) {
      row(
        'retention at the end: messages held / pruned (herald_retention_*), of those accepted before the window',
        (r) => (r.retentionPruned === null ? pair(r.retentionHeld, null) : `${pair(r.retentionHeld, r.retentionPruned)}${r.pastWindow === null ? '' : ` of ${fmtNum(r.pastWindow)}`}`),
        'publishes accepted before end − window (pruned ÷ those)',
        'held ≈ 0, pruned ≈ all (the receiver answers at once)',
        (r) => (r.retentionPruned === null || r.pastWindow === null || r.pastWindow === 0 ? null : r.retentionPruned / r.pastWindow),
      );
    }
  }
  return rows;
}

/** One sentence per store: does storage stop growing with retention, and what grew without it. */
export function soakVerdicts(store: StoreKind, soak: SoakFigures): string[] {
  const out: string[] = [];
  const keep = soak.runs.find((r) => r.retention === null);
  const ret = soak.runs.find((r) => r.retention !== null);
  const wal = (r: SoakRun): string => (store === 'sqlite' ? `, WAL peak ${show(r.peakWalMb, ' MB')}` : '');
  const parts: string[] = [];
  if (keep !== undefined) {
    parts.push(`without retention the database grew ${show(keep.dbGrowthLastThirdMb, ' MB')} over the last third (to ${show(keep.finalDbMb, ' MB')})${wal(keep)}, RSS peak ${show(keep.peakRssMb, ' MB')}`);
  }
  if (ret !== undefined) {
    const noMetrics = ret.retentionHeld === null && ret.retentionPruned === null ? ' (no herald_retention_* metrics: this build may not know HERALD_MESSAGE_RETENTION)' : '';
    const pruned = ret.retentionPruned === null ? '' : `, ${fmtNum(ret.retentionPruned)} messages pruned${ret.pastWindow === null ? '' : ` of ${fmtNum(ret.pastWindow)} past the window`}`;
    parts.push(`with HERALD_MESSAGE_RETENTION=${ret.retention ?? '?'} it grew ${show(ret.dbGrowthLastThirdMb, ' MB')} (to ${show(ret.finalDbMb, ' MB')})${wal(ret)}, RSS peak ${show(ret.peakRssMb, ' MB')}${pruned}${noMetrics}`);
  }
  // Without autovacuum, only Herald's own VACUUM after each retention sweep gives pruned rows' space back.
  if (soak.runs.some((r) => r.pgAutovacuum === 'off')) parts.push("this PostgreSQL server runs with autovacuum = off, so Herald's own VACUUM after each sweep reclaims pruned rows' space");
  const refused = soak.runs.reduce((a, r) => a + r.refused, 0);
  if (parts.length > 0) out.push(`- ${store}, soak ${fmtNum(soak.rate)}/s for ${fmtNum(soak.seconds)} s: ${parts.join('; ')}; ${fmtNum(refused)} publishes refused.`);
  for (const e of soak.errors) out.push(`- ${store}, soak: error: ${e}`);
  return out;
}
