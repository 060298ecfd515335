import { createHash } from 'node:crypto';
import { CallLogRing } from './logs.js';
import { FunctionPool, type PoolStats } from './pool.js';
import type { CallLogRecord, FunctionSpec, InvokeOptions, InvokeRequest, InvokeResult, PoolOptions } from './types.js';

export interface FunctionRuntimeOptions extends Partial<PoolOptions> {
  /** Call records kept per function for recentLogs (in memory only). */
  logRecordsPerFunction?: number;
  /** Each kept record's logs are cut to this many bytes. */
  logRecordBytes?: number;
}

/**
 * What a process was spawned with. Config, memory, names and the entrypoint are baked
 * into a process (env, argv) at spawn, so a change to any of them, not only to the
 * version/digest, needs fresh processes: e.g. updateFunction({config}) keeps the image.
 */
export function specFingerprint(spec: FunctionSpec): string {
  // Named fields only: callers may pass a wider object (timestamps, etags) that must not churn pools.
  const { appId, name, appName, version, dir, entrypoint, runtime, memoryMb, timeoutSeconds, config } = spec;
  const sortedConfig = Object.keys(config).sort().map((k) => [k, config[k]]);
  const material = JSON.stringify([appId, name, appName, version, dir, entrypoint, runtime, memoryMb, timeoutSeconds, sortedConfig]);
  return `${version}:${createHash('sha256').update(material).digest('hex').slice(0, 16)}`;
}

/**
 * The registry of pools: one per function id, for its current spec only.
 * Invoking a new version (new digest) or a changed spec (config, memory, …; see
 * specFingerprint) makes a fresh pool and drains the old one, so no call is served
 * by a process running stale code or config. Two concurrent callers holding
 * different specs would flip the pool back and forth; the store serializes
 * updates, so that is only a transient race.
 */
export class FunctionRuntime {
  private readonly pools = new Map<string, { pool: FunctionPool; key: string }>();
  /** Old versions still finishing their calls. */
  private readonly retired = new Set<FunctionPool>();
  private readonly logs: CallLogRing;
  /** Fingerprints of the specs seen: the invoker hands the same spec object to every call of a function version. */
  private readonly fingerprints = new WeakMap<FunctionSpec, string>();
  private closed = false;

  constructor(private readonly options: FunctionRuntimeOptions = {}) {
    this.logs = new CallLogRing(options.logRecordsPerFunction ?? 100, options.logRecordBytes ?? 64 * 1024);
  }

  /**
   * Runs one call. Resolves with the outcome for every function or runtime failure
   * (see InvokeResult.status); throws InvalidParameterError for a spec that can never
   * run, and rejects with the signal's reason when the caller aborts.
   */
  async invoke(spec: FunctionSpec, request: InvokeRequest, opts: InvokeOptions = {}): Promise<InvokeResult> {
    if (this.closed) {
      return { status: 503, body: Buffer.alloc(0), headers: {}, callId: request.callId ?? '', durationMs: 0, coldStart: false, logs: '', error: 'function runtime is shut down', errorKind: 'busy' };
    }
    return this.poolFor(spec).invoke(request, opts);
  }

  private poolFor(spec: FunctionSpec): FunctionPool {
    let key = this.fingerprints.get(spec);
    if (key === undefined) {
      key = specFingerprint(spec);
      this.fingerprints.set(spec, key);
    }
    const current = this.pools.get(spec.id);
    if (current && current.key === key) return current.pool;
    const { logRecordsPerFunction: _n, logRecordBytes: _b, ...poolOptions } = this.options;
    const pool = new FunctionPool(spec, poolOptions, (r) => this.logs.add(spec.id, r));
    this.pools.set(spec.id, { pool, key });
    if (current) this.retire(current.pool);
    return pool;
  }

  private retire(pool: FunctionPool): void {
    this.retired.add(pool);
    void pool.drain().finally(() => this.retired.delete(pool));
  }

  /** The last `limit` call records of a function, newest first. */
  recentLogs(functionId: string, limit: number): CallLogRecord[] {
    return this.logs.recent(functionId, limit);
  }

  /** Per-function process counts, e.g. for metrics or an admin endpoint. */
  stats(): Record<string, PoolStats> {
    const out: Record<string, PoolStats> = {};
    for (const [id, { pool }] of this.pools) out[id] = pool.stats();
    return out;
  }

  /** For a deleted function: kill its processes and forget its logs. */
  async closeFunction(functionId: string): Promise<void> {
    const entry = this.pools.get(functionId);
    this.pools.delete(functionId);
    this.logs.forget(functionId);
    await entry?.pool.close();
  }

  /** Kills every process and removes every temp dir. Later invokes answer 503. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...[...this.pools.values()].map((e) => e.pool), ...this.retired];
    this.pools.clear();
    this.retired.clear();
    await Promise.all(pools.map((p) => p.close()));
    this.logs.clear();
  }
}
