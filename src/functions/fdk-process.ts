import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { chmod, lstat, mkdtemp, readlink, rm, stat } from 'node:fs/promises';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { buildArgv, buildEnv } from './launch.js';
import { ProcessLogCapture } from './logs.js';
import { killGroup, trackGroup, untrackGroup } from './process-group.js';
import { buildCallHeaders, errorDetail, isGatewayRequest, mapResponseHeaders } from './protocol.js';
import { MemoryWatchdog } from './rss.js';
import { describeExit, StartError, type CallOutcome, type ExitInfo, type RawOutcome } from './outcomes.js';
import type { FunctionSpec, InvokeRequest, PoolOptions } from './types.js';

export type ProcessState = 'starting' | 'idle' | 'busy' | 'dead';

type KillReason = 'oom' | 'timeout' | 'abort' | 'stop' | 'fatal';

const SOCKET_NAME = 'lsnr.sock';
/** sun_path is 108 bytes including the NUL (FN-FMT). */
const MAX_SOCKET_PATH = 107;
const READY_POLL_MS = 15;
const HEAP_OOM_RE = /JavaScript heap out of memory|Reached heap limit|MemoryError/;

/**
 * One function process = one Fn hot container (reference §1.6 state machine):
 * STARTING → IDLE ⇄ BUSY → DEAD. Exactly one call at a time; the FDK itself would
 * happily serve overlapping requests, so the pool must never call a busy process.
 */
export class FdkProcess {
  readonly id = randomBytes(4).toString('hex');
  state: ProcessState = 'starting';
  /** Spawn → socket ready, in ms. */
  startMs = 0;
  /** Resolves after the process exited and its private dir was removed. */
  readonly exited: Promise<ExitInfo>;

  private readonly child: ChildProcess;
  private readonly logs: ProcessLogCapture;
  private watchdog: MemoryWatchdog | null = null;
  private killReason: KillReason | null = null;
  private oomMessage = '';
  private exitInfo: ExitInfo | null = null;
  private spawnError: Error | null = null;
  /** One-shot exit callbacks; a Set (not exited.then) so finished calls do not pile up closures. */
  private readonly exitWaiters = new Set<() => void>();
  private readonly limitKb: number;

  private constructor(
    readonly spec: FunctionSpec,
    readonly dir: string,
    private readonly opts: PoolOptions,
    private readonly onExit: (p: FdkProcess) => void,
  ) {
    this.logs = new ProcessLogCapture(opts.maxLogBytes);
    this.limitKb = Math.round((spec.memoryMb * opts.rssFactor + opts.rssAllowanceMb) * 1024);
    const plan = opts.sandbox.plan(spec, dir, (view) => ({ argv: buildArgv(spec, view), env: buildEnv(spec, view) }));
    this.child = spawn(plan.command, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      ...(plan.uid !== undefined ? { uid: plan.uid, gid: plan.gid } : {}),
      // Own process group: a timeout or OOM kill reaches grandchildren too (and bwrap, whose death ends its sandbox).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => this.logs.write(d, 'stdout'));
    this.child.stderr!.on('data', (d: Buffer) => this.logs.write(d, 'stderr'));
    this.child.stdout!.on('error', () => undefined);
    this.child.stderr!.on('error', () => undefined);
    // An idle hot process must not keep Herald's event loop alive, so the child is
    // unref'd while IDLE (see setIdle) and ref'd whenever something awaits it. Its
    // pipes never hold the loop: the child handle's exit does.
    for (const s of [this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    // 'close' follows 'exit' once the pipes are drained, so error messages see the whole stderr.
    const drained = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        this.state = 'dead';
        this.watchdog?.stop();
        const pid = this.child.pid;
        if (pid !== undefined) {
          // The leader is gone; take orphaned helpers with it.
          killGroup(pid, 'SIGKILL');
          untrackGroup(pid);
        }
        for (const w of this.exitWaiters) w();
        this.exitWaiters.clear();
        this.onExit(this);
        let t: NodeJS.Timeout | undefined;
        void Promise.race([drained, new Promise<void>((r) => (t = setTimeout(r, 200)))])
          .then(() => (clearTimeout(t), rm(this.dir, { recursive: true, force: true })))
          .finally(() => resolve(info));
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      // Spawn failures (ENOENT, EACCES) may come without an 'exit'. Keep listening:
      // an unhandled 'error' event would take Herald down.
      this.child.on('error', (e) => {
        this.spawnError ??= e;
        if (this.child.pid === undefined) done({ code: null, signal: null });
      });
    });
    if (this.child.pid !== undefined) trackGroup(this.child.pid, dir);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get socketPath(): string {
    return join(this.dir, SOCKET_NAME);
  }

  /** Spawns the process and resolves once its socket is ready; throws StartError otherwise. */
  static async start(spec: FunctionSpec, opts: PoolOptions, onExit: (p: FdkProcess) => void): Promise<FdkProcess> {
    // A fresh, empty, private dir per process: stale socket files make fdk-node exit (reference §1.3).
    const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'herald-fn-'));
    await chmod(dir, 0o700);
    await opts.sandbox.prepareSocketDir(dir);
    if (Buffer.byteLength(join(dir, SOCKET_NAME)) > MAX_SOCKET_PATH) {
      await rm(dir, { recursive: true, force: true });
      throw new StartError(`Socket path ${join(dir, SOCKET_NAME)} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter tmpRoot.`, 500);
    }
    const codeDir = await stat(spec.dir).catch(() => null);
    if (!codeDir?.isDirectory()) {
      await rm(dir, { recursive: true, force: true });
      throw new StartError(`Function ${spec.name} code folder ${spec.dir} does not exist.`, 500);
    }
    let proc: FdkProcess;
    try {
      proc = new FdkProcess(spec, dir, opts, onExit);
    } catch (e) {
      // spawn() throws synchronously only for invalid arguments.
      await rm(dir, { recursive: true, force: true });
      throw new StartError(`Function ${spec.name} could not be spawned: ${e instanceof Error ? e.message : String(e)}`, 500);
    }
    const t0 = performance.now();
    try {
      await proc.waitReady(opts.startTimeoutMs);
    } catch (e) {
      proc.kill('fatal');
      await proc.exited;
      throw e;
    }
    proc.startMs = performance.now() - t0;
    proc.setIdle();
    proc.watchdog = new MemoryWatchdog(proc.child.pid!, proc.limitKb, opts.busyPollMs, opts.idlePollMs, (kb) => proc.onMemoryBreach(kb));
    proc.watchdog.start();
    return proc;
  }

  /** fs.watch for the create event plus a short poll, since watch events can be missed or coalesced. */
  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let watcher: FSWatcher | null = null;
      let checking = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        watcher?.close();
        if (err) reject(err);
        else resolve();
      };
      const check = async (): Promise<void> => {
        if (settled || checking) return;
        checking = true;
        try {
          const r = await this.checkSocket();
          if (r === true) finish();
          else if (r !== false) finish(new StartError(r));
        } finally {
          checking = false;
        }
      };
      try {
        watcher = watch(this.dir, () => void check());
        watcher.on('error', () => undefined);
      } catch {
        // Polling alone still works.
      }
      const poll = setInterval(() => void check(), READY_POLL_MS);
      const timer = setTimeout(() => {
        finish(new StartError(`Function ${this.spec.name} did not create its socket within ${timeoutMs} ms.${this.stderrSuffix()}`, 504));
      }, timeoutMs);
      void this.exited.then((info) => {
        const why = this.spawnError?.message ?? describeExit(info);
        finish(new StartError(`Function ${this.spec.name} exited before it was ready (${why}).${this.stderrSuffix()}`));
      });
    });
  }

  /** Fn's checkSocketDestination: a symlink must stay inside the dir, and the target must be a socket. */
  private async checkSocket(): Promise<true | false | string> {
    const path = this.socketPath;
    try {
      const l = await lstat(path);
      if (l.isSymbolicLink()) {
        const target = await readlink(path);
        if (isAbsolute(target) || dirname(target) !== '.') return `Socket symlink ${SOCKET_NAME} -> ${target} must point inside its own folder.`;
      }
      return (await stat(path)).isSocket();
    } catch {
      return false;
    }
  }

  private stderrSuffix(): string {
    const tail = this.logs.tail();
    return tail ? ` stderr: ${tail}` : '';
  }

  private onMemoryBreach(rssKb: number): void {
    this.oomMessage = `memory limit exceeded: RSS ${Math.round(rssKb / 1024)} MB > limit ${Math.round(this.limitKb / 1024)} MB (memory ${this.spec.memoryMb} MB)`;
    this.kill('oom');
  }

  private setIdle(): void {
    this.state = 'idle';
    this.child.unref();
  }

  /** Leaves IDLE for good: ref'd again so whoever awaits the exit keeps the loop alive. */
  private markDead(): void {
    this.state = 'dead';
    this.child.ref();
  }

  /** SIGKILL the whole group now. The first reason sticks: it explains the call's failure. */
  kill(reason: KillReason): void {
    if (this.killReason === null) this.killReason = reason;
    if (this.exitInfo === null) this.markDead();
    this.watchdog?.stop();
    if (this.exitInfo === null && this.child.pid !== undefined) killGroup(this.child.pid, 'SIGKILL');
  }

  /** Graceful stop (idle shrink, close): SIGTERM, SIGKILL after the grace period. */
  async stop(graceMs: number): Promise<void> {
    if (this.exitInfo !== null || this.child.pid === undefined) {
      await this.exited;
      return;
    }
    if (this.killReason === null) this.killReason = 'stop';
    this.markDead();
    this.watchdog?.stop();
    killGroup(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => this.kill('stop'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Runs one call. Never rejects: every failure becomes a CallOutcome. */
  async call(req: InvokeRequest, callId: string, timeoutMs: number, signal?: AbortSignal): Promise<CallOutcome> {
    if (this.state !== 'idle') {
      // The pool only hands out idle processes; this is a guard, not a normal path.
      return { status: 502, body: Buffer.alloc(0), headers: {}, logs: '', error: `function process died before the call started`, errorKind: 'crash' };
    }
    this.state = 'busy';
    this.child.ref();
    this.logs.beginCall();
    this.watchdog?.setBusy(true);
    const raw = await this.exchange(req, callId, timeoutMs, signal);
    this.watchdog?.setBusy(false);
    // Output written just before the response may still sit in the pipe: give it a turn of the loop.
    await new Promise((r) => setImmediate(r));
    const outcome = await this.classify(raw, isGatewayRequest(req));
    outcome.logs = this.logs.endCall();
    if (this.state === 'busy') this.setIdle();
    return outcome;
  }

  private exchange(req: InvokeRequest, callId: string, timeoutMs: number, signal?: AbortSignal): Promise<RawOutcome> {
    return new Promise<RawOutcome>((resolve) => {
      let settled = false;
      let httpReq: ClientRequest | null = null;
      const onExit = (): void => finish({ kind: 'transport', message: 'process exited during the call' });
      const finish = (r: RawOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.exitWaiters.delete(onExit);
        // Timeout, abort, too-large: drop our end of the connection too.
        if (r.kind !== 'response') httpReq?.destroy();
        resolve(r);
      };
      const onAbort = (): void => {
        this.kill('abort');
        finish({ kind: 'aborted' });
      };
      // The deadline starts when a process is assigned, as in Fn (the slot exec).
      const timer = setTimeout(() => {
        this.kill('timeout');
        finish({ kind: 'timeout' });
      }, timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.exitInfo !== null) return onExit();
      this.exitWaiters.add(onExit);

      const headers = buildCallHeaders(req, callId, new Date(Date.now() + timeoutMs));
      headers['Content-Length'] = String(req.body.length);
      // A fresh connection per call (agent: false): avoids fn#1470's stale keep-alive race and costs ~nothing.
      httpReq = request({ socketPath: this.socketPath, path: '/call', method: 'POST', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > this.opts.maxResponseBytes) {
            res.destroy();
            finish({ kind: 'too-large' });
            return;
          }
          chunks.push(d);
        });
        res.on('end', () => finish({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e) => finish({ kind: 'transport', message: e.message }));
        res.on('close', () => {
          if (!res.complete) finish({ kind: 'transport', message: 'response ended early' });
        });
      });
      httpReq.on('error', (e) => finish({ kind: 'transport', message: e.message }));
      httpReq.end(req.body);
    });
  }

  private async classify(raw: RawOutcome, gateway: boolean): Promise<CallOutcome> {
    const empty = { body: Buffer.alloc(0), headers: {}, logs: '' };
    if (raw.kind === 'response') {
      const mapped = mapResponseHeaders(raw.headers, gateway);
      const base = { body: raw.body, headers: mapped.headers, logs: '', ...(mapped.httpStatus !== undefined ? { httpStatus: mapped.httpStatus } : {}) };
      if (raw.status === 200) return { status: 200, ...base };
      // The handler threw; the FDK answered and lives on (reference §1.5).
      if (raw.status === 502) return { status: 502, ...base, error: `function failed: ${errorDetail(raw.body)}`, errorKind: 'function' };
      if (raw.status === 504) return { status: 504, ...base, error: 'timed out', errorKind: 'timeout' };
      this.kill('fatal');
      return { status: 502, ...base, error: `invalid function response: FDK answered ${raw.status}`, errorKind: 'invalid-response' };
    }
    if (raw.kind === 'aborted') return { status: 499, ...empty, error: 'aborted by caller', aborted: true };
    if (raw.kind === 'timeout') return { status: 504, ...empty, error: 'timed out', errorKind: 'timeout' };
    if (raw.kind === 'too-large') {
      this.kill('fatal');
      return { status: 502, ...empty, error: `function response body too large (over ${this.opts.maxResponseBytes} bytes)`, errorKind: 'too-large' };
    }
    // Transport error: the process died or broke the connection. Wait briefly for the
    // exit so the error can say why (watchdog kill, V8 heap OOM, exit code, stderr).
    let t: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.exited, new Promise<null>((r) => (t = setTimeout(() => r(null), 500)))]);
    clearTimeout(t);
    if (exit === null) this.kill('fatal');
    if (this.killReason === 'oom') return { status: 502, ...empty, error: this.oomMessage, errorKind: 'oom' };
    if (this.killReason === 'timeout') return { status: 504, ...empty, error: 'timed out', errorKind: 'timeout' };
    if (this.killReason === 'stop') return { status: 503, ...empty, error: 'function process was stopped (runtime shutting down)', errorKind: 'stopped' };
    const tail = this.logs.tail();
    if (HEAP_OOM_RE.test(tail)) {
      return { status: 502, ...empty, error: `memory limit exceeded: the ${this.spec.runtime} heap ran out (memory ${this.spec.memoryMb} MB)`, errorKind: 'oom' };
    }
    const how = exit ? describeExit(exit) : raw.message;
    return { status: 502, ...empty, error: `function process crashed during the call (${how}).${this.stderrSuffix()}`, errorKind: 'crash' };
  }
}
