import { randomUUID } from 'node:crypto';
import { FdkProcess } from './fdk-process.js';
import { StartError, type CallOutcome } from './outcomes.js';
import { validateSpec } from './launch.js';
import { NoSandbox } from './sandbox.js';
import {
  type CallLogRecord,
  type FunctionSpec,
  type InvokeOptions,
  type InvokeRequest,
  type InvokeResult,
  type PoolOptions,
} from './types.js';

export const DEFAULT_POOL_OPTIONS: PoolOptions = {
  maxProcesses: 4,
  maxQueue: 32,
  idleTimeoutMs: 30_000,
  startTimeoutMs: 5_000,
  killGraceMs: 2_000,
  rssFactor: 1.2,
  rssAllowanceMb: 32,
  busyPollMs: 100,
  idlePollMs: 1_000,
  maxLogBytes: 1024 * 1024,
  maxResponseBytes: 6 * 1024 * 1024,
  sandbox: new NoSandbox({ python3: 'python3', node: process.execPath, path: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin' }),
};

export interface PoolStats {
  version: string;
  /** Live processes, including ones still starting. */
  total: number;
  starting: number;
  idle: number;
  busy: number;
  queued: number;
}

interface Lease {
  proc: FdkProcess;
  cold: boolean;
}

interface Waiter {
  resolve: (r: Lease | CallOutcome) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

function failure(status: number, error: string, errorKind: CallOutcome['errorKind']): CallOutcome {
  return { status, body: Buffer.alloc(0), headers: {}, logs: '', error, ...(errorKind ? { errorKind } : {}) };
}

/**
 * Processes of one function version (Fn's slot queue, reference §1.1 step 5 and §5):
 * idle processes are reused most-recently-used first (so surplus ones age out),
 * a new process is started only for a waiter no starting process will serve, the
 * pool never exceeds maxProcesses, and waiters beyond capacity are bounded by
 * maxQueue and by a wait timeout (default: the function's own timeout).
 */
export class FunctionPool {
  readonly opts: PoolOptions;
  private readonly procs = new Set<FdkProcess>();
  private readonly idle: FdkProcess[] = [];
  private readonly idleTimers = new Map<FdkProcess, NodeJS.Timeout>();
  private readonly starts = new Set<Promise<void>>();
  private queue: Waiter[] = [];
  private closed = false;
  private draining = false;
  private drained: (() => void) | null = null;

  constructor(
    readonly spec: FunctionSpec,
    opts: Partial<PoolOptions> = {},
    private readonly onRecord: (r: CallLogRecord) => void = () => undefined,
  ) {
    validateSpec(spec);
    this.opts = { ...DEFAULT_POOL_OPTIONS, ...opts };
  }

  stats(): PoolStats {
    let busy = 0;
    for (const p of this.procs) if (p.state === 'busy') busy++;
    return { version: this.spec.version, total: this.live() + this.starts.size, starting: this.starts.size, idle: this.idle.length, busy, queued: this.queue.length };
  }

  /** Never rejects for function or runtime failures (see InvokeResult.status); rejects with the signal's reason on abort. */
  async invoke(req: InvokeRequest, options: InvokeOptions = {}): Promise<InvokeResult> {
    const t0 = performance.now();
    const time = new Date().toISOString();
    const callId = req.callId ?? randomUUID();
    let outcome: CallOutcome;
    let coldStart = false;
    let served: InvokeResult['process'];
    const lease = await this.acquire(options.signal);
    if ('proc' in lease) {
      coldStart = lease.cold;
      served = { id: lease.proc.id, pid: lease.proc.pid };
      outcome = await lease.proc.call(req, callId, this.spec.timeoutSeconds * 1000, options.signal);
      this.release(lease.proc);
    } else {
      outcome = lease;
    }
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    const { aborted, ...rest } = outcome;
    this.onRecord({ callId, time, status: rest.status, durationMs, logs: rest.logs, ...(rest.error ? { error: rest.error } : {}) });
    if (aborted) throw options.signal?.reason ?? new Error('aborted');
    return { ...rest, callId, durationMs, coldStart, ...(served !== undefined ? { process: served } : {}) };
  }

  private live(): number {
    let n = 0;
    for (const p of this.procs) if (p.state !== 'dead') n++;
    return n;
  }

  private acquire(signal?: AbortSignal): Promise<Lease | CallOutcome> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed || this.draining) return Promise.resolve(failure(503, 'function is shutting down or was redeployed', 'busy'));
    const proc = this.takeIdle();
    if (proc) return Promise.resolve({ proc, cold: false });
    const atCapacity = this.live() + this.starts.size >= this.opts.maxProcesses;
    if (atCapacity && this.queue.length - this.starts.size >= this.opts.maxQueue) {
      return Promise.resolve(failure(503, 'too many concurrent calls', 'busy'));
    }
    return new Promise<Lease | CallOutcome>((resolve, reject) => {
      // A waiter that causes a start may also wait out that start (startTimeoutMs bounds it).
      const waitMs = (this.opts.queueTimeoutMs ?? this.spec.timeoutSeconds * 1000) + (atCapacity ? 0 : this.opts.startTimeoutMs);
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          resolve(failure(503, `too many concurrent calls (no free process within ${waitMs} ms)`, 'busy'));
        }, waitMs),
        onAbort: () => {
          this.removeWaiter(waiter);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  private removeWaiter(w: Waiter): void {
    clearTimeout(w.timer);
    w.signal?.removeEventListener('abort', w.onAbort);
    this.queue = this.queue.filter((x) => x !== w);
  }

  private serveNext(result: Lease | CallOutcome): boolean {
    const w = this.queue.shift();
    if (!w) return false;
    clearTimeout(w.timer);
    w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(result);
    return true;
  }

  private takeIdle(): FdkProcess | undefined {
    for (;;) {
      const p = this.idle.pop();
      if (!p) return undefined;
      const t = this.idleTimers.get(p);
      if (t) clearTimeout(t);
      this.idleTimers.delete(p);
      if (p.state === 'idle') return p;
    }
  }

  /** Hands idle processes to waiters, then starts one process per waiter that no start will serve. */
  private pump(): void {
    while (this.queue.length > 0) {
      const p = this.takeIdle();
      if (!p) break;
      this.serveNext({ proc: p, cold: false });
    }
    if (this.closed) return;
    const room = this.opts.maxProcesses - this.live() - this.starts.size;
    const needed = this.queue.length - this.starts.size;
    for (let i = 0; i < Math.min(room, needed); i++) this.startOne();
    this.checkDrained();
  }

  private startOne(): void {
    const run = FdkProcess.start(this.spec, this.opts, (p) => this.onExit(p)).then(
      (proc) => {
        this.starts.delete(run);
        this.procs.add(proc);
        if (this.closed) void proc.stop(this.opts.killGraceMs);
        else if (!this.serveNext({ proc, cold: true })) this.release(proc);
        this.pump();
      },
      (err: unknown) => {
        this.starts.delete(run);
        const msg = err instanceof Error ? err.message : String(err);
        const out = failure(err instanceof StartError ? err.status : 500, msg, 'start');
        // A function that cannot start fails every waiter now, not one per start timeout.
        if (this.live() === 0 && this.starts.size === 0) while (this.serveNext(out));
        else this.serveNext(out);
        this.pump();
      },
    );
    this.starts.add(run);
  }

  private release(proc: FdkProcess): void {
    if (proc.state !== 'idle') {
      this.pump(); // it died: a waiter may need a replacement
      return;
    }
    if (this.serveNext({ proc, cold: false })) return;
    if (this.closed || this.draining) {
      void proc.stop(this.opts.killGraceMs);
      return;
    }
    this.idle.push(proc);
    const timer = setTimeout(() => {
      this.idleTimers.delete(proc);
      const i = this.idle.indexOf(proc);
      if (i >= 0) this.idle.splice(i, 1);
      void proc.stop(this.opts.killGraceMs);
    }, this.opts.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(proc, timer);
  }

  private onExit(proc: FdkProcess): void {
    this.procs.delete(proc);
    const i = this.idle.indexOf(proc);
    if (i >= 0) this.idle.splice(i, 1);
    const t = this.idleTimers.get(proc);
    if (t) clearTimeout(t);
    this.idleTimers.delete(proc);
    this.pump();
  }

  private checkDrained(): void {
    if (this.drained && this.procs.size === 0 && this.starts.size === 0 && this.queue.length === 0) {
      const done = this.drained;
      this.drained = null;
      done();
    }
  }

  /** Stop taking calls; let running and queued ones finish; then stop every process. */
  drain(): Promise<void> {
    this.draining = true;
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    for (let p = this.takeIdle(); p; p = this.takeIdle()) void p.stop(this.opts.killGraceMs);
    this.checkDrained();
    return done;
  }

  /** Kill everything now: queued calls get 503, running calls fail, temp dirs are removed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.serveNext(failure(503, 'function runtime is shutting down', 'busy')));
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    this.idle.length = 0;
    await Promise.allSettled([...this.starts]);
    await Promise.all([...this.procs].map((p) => p.stop(this.opts.killGraceMs)));
    this.drained?.();
  }
}
