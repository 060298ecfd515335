import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { extractBundle } from './bundles.js';
import { defaultEntrypoint, parseFuncYaml } from './func-yaml.js';
import type { FunctionRuntime } from './runtime.js';
import type { FunctionSpec } from './types.js';
import type { Application, FnFunction } from '../core/function-models.js';
import type { FunctionInvoker } from '../core/functions.js';
import type { FunctionStore } from '../core/ports/functions.js';
import { NO_TRACING, type Tracing } from '../telemetry/tracing.js';

interface Prepared {
  dir: string;
  /** Python packages built at deploy (`herald fn deploy` puts them at .herald/python in the bundle). */
  pythonDir: string | undefined;
  runtime: string;
  entrypoint: string;
}

/** Specs kept for reuse; past this many (versions of) functions the cache starts over. */
const MAX_SPECS = 1_000;

/** Where a built bundle keeps its Python packages; the runtime shows them at Fn's /python. */
export const BUNDLE_PYTHON_DIR = '.herald/python';

/**
 * Makes an unpacked bundle readable (and its folders enterable) by everyone: a sandboxed
 * function runs as another user than Herald, and its files came with their author's modes.
 * Symlinks are left alone (chmod would follow them).
 */
async function readableByAll(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    await chmod(path, (st.mode & 0o777) | 0o555);
    for (const name of await readdir(path)) await readableByAll(join(path, name));
  } else {
    await chmod(path, (st.mode & 0o777) | 0o444);
  }
}

/**
 * What `herald fn logs` shows for a call: the function's output, and, when the runtime
 * failed it (it did not start, crashed, ran out of memory or time), Herald's reason,
 * which for a failed start carries the spawn error and what the process wrote.
 */
function callLogs(result: { logs: string; error?: string; errorKind?: string }): string {
  if (result.error === undefined || result.errorKind === undefined || result.errorKind === 'function') return result.logs;
  const why = result.errorKind === 'start' ? `the function did not start: ${result.error}` : `${result.errorKind}: ${result.error}`;
  return `${result.logs}${result.logs === '' || result.logs.endsWith('\n') ? '' : '\n'}[herald] ${why}\n`;
}

/**
 * Runs deployed functions on this node: fetches the function's bundle from the
 * store by digest (so any node can run any function), unpacks it once per digest
 * under the data dir, and hands calls to the process runtime. Every call is
 * recorded for `herald fn logs`.
 */
export class RuntimeInvoker implements FunctionInvoker {
  private readonly prepared = new Map<string, Promise<Prepared>>();
  /** Specs by function and application etags (see specFor). */
  private readonly specs = new Map<string, FunctionSpec>();

  constructor(
    private readonly store: Pick<FunctionStore, 'getBundle' | 'insertFunctionCall'>,
    private readonly runtime: FunctionRuntime,
    private readonly bundlesDir: string,
    private readonly logger: Logger,
    private readonly tracing: Tracing = NO_TRACING,
  ) {}

  async invoke(
    target: { fn: FnFunction; app: Application },
    request: { body: Buffer; contentType?: string; headers: Record<string, string> },
    opts: { signal?: AbortSignal; detached?: boolean } = {},
  ): Promise<{ status: number; body: Buffer; headers: Record<string, string>; error?: string }> {
    const { fn, app } = target;
    // A child of the caller's span (a delivery attempt's traceparent header); the function is handed this span's.
    const span = this.tracing.startSpan(`invoke ${fn.displayName}`, {
      kind: 'client',
      parent: request.headers.traceparent ?? null,
      attributes: {
        'faas.invoked_name': fn.displayName,
        'herald.function.id': fn.id,
        'herald.application.id': app.id,
        'herald.tenancy.id': fn.tenancyId,
      },
    });
    const headers = span.traceParent === null ? request.headers : { ...request.headers, traceparent: span.traceParent };
    try {
      const r = await this.invokeOnce(target, { ...request, headers }, opts);
      span.setAttributes({ 'herald.function.status': r.status, 'herald.function.call_id': r.callId });
      if (r.status < 200 || r.status >= 300) span.fail(r.error ?? `The function answered ${r.status}.`);
      return { status: r.status, body: r.body, headers: r.headers, error: r.error };
    } finally {
      span.end();
    }
  }

  private async invokeOnce(
    target: { fn: FnFunction; app: Application },
    request: { body: Buffer; contentType?: string; headers: Record<string, string> },
    opts: { signal?: AbortSignal; detached?: boolean },
  ): Promise<{ status: number; body: Buffer; headers: Record<string, string>; error?: string; callId?: string }> {
    const { fn, app } = target;
    let spec: FunctionSpec;
    try {
      spec = await this.specFor(fn, app);
    } catch (err) {
      this.prepared.delete(fn.imageDigest);
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, functionId: fn.id }, 'could not prepare the function bundle');
      return { status: 500, body: Buffer.alloc(0), headers: {}, error: `The function's code could not be prepared: ${message}` };
    }
    const startedAt = Date.now();
    const result = await this.runtime.invoke(spec, { body: request.body, contentType: request.contentType, headers: request.headers }, { signal: opts.signal });
    const status = result.status === 200 ? 'success' : result.errorKind === 'timeout' ? 'timeout' : (result.errorKind ?? 'error');
    const call = { functionId: fn.id, callId: result.callId, startedAt, durationMs: Math.round(result.durationMs), status, logs: callLogs(result) };
    // Queued for the store's next batch of call records (store/call-batch.ts): the caller does not wait for a log line.
    this.store.insertFunctionCall(call).catch((err: unknown) => this.logger.warn({ err, functionId: fn.id }, 'could not record the function call'));
    return { status: result.status, body: result.body, headers: result.headers, error: result.error, callId: result.callId };
  }

  /**
   * The runtime's spec for this function as stored now. Both records' etags change with any of their fields, so
   * the spec built for a pair of etags is reused for every call until one is updated (building it hashed the
   * config, limits and names on every invoke).
   */
  private async specFor(fn: FnFunction, app: Application): Promise<FunctionSpec> {
    const key = `${fn.id}\0${fn.etag}\0${fn.imageDigest}\0${app.id}\0${app.etag}`;
    const known = this.specs.get(key);
    if (known !== undefined) return known;
    const prepared = await this.prepare(fn.imageDigest);
    // The function's own config wins over the application's.
    const config = { ...app.config, ...fn.config };
    // Processes are hot: anything baked into a process (code, env, limits) must be part of its pool's version,
    // so a config update reaches the next call instead of waiting for idle processes to retire.
    const version = createHash('sha256')
      .update(JSON.stringify([fn.imageDigest, config, fn.memoryInMBs, fn.timeoutInSeconds, app.displayName, fn.displayName]))
      .digest('hex')
      .slice(0, 24);
    const spec: FunctionSpec = {
      id: fn.id,
      appId: app.id,
      name: fn.displayName,
      appName: app.displayName,
      version,
      dir: prepared.dir,
      ...(prepared.pythonDir !== undefined ? { pythonDir: prepared.pythonDir } : {}),
      entrypoint: prepared.entrypoint,
      runtime: prepared.runtime,
      memoryMb: fn.memoryInMBs,
      timeoutSeconds: fn.timeoutInSeconds,
      config,
    };
    if (this.specs.size >= MAX_SPECS) this.specs.clear();
    this.specs.set(key, spec);
    return spec;
  }

  private prepare(digest: string): Promise<Prepared> {
    let p = this.prepared.get(digest);
    if (p === undefined) {
      p = this.unpack(digest);
      this.prepared.set(digest, p);
    }
    return p;
  }

  private async unpack(digest: string): Promise<Prepared> {
    const hex = digest.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`invalid bundle digest ${digest}`);
    const dir = join(this.bundlesDir, hex);
    const exists = await stat(join(dir, 'func.yaml')).then(
      () => true,
      () => stat(join(dir, 'func.yml')).then(() => true, () => false),
    );
    if (!exists) {
      const bundle = await this.store.getBundle(digest);
      if (bundle === undefined) throw new Error(`bundle ${digest} is not in the store`);
      // Unpack beside the target and rename, so a crash never leaves a half-written folder in place.
      await mkdir(this.bundlesDir, { recursive: true });
      const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
      await extractBundle(bundle.bytes, tmp);
      await readableByAll(tmp);
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        await rm(tmp, { recursive: true, force: true });
        // Another call unpacked the same digest first: same bytes, so keep theirs.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    }
    const yamlText = await readFile(join(dir, 'func.yaml'), 'utf8').catch(() => readFile(join(dir, 'func.yml'), 'utf8'));
    const y = parseFuncYaml(yamlText);
    const entrypoint = y.entrypoint || defaultEntrypoint(y.runtime);
    if (entrypoint === undefined) throw new Error(`func.yaml has no entrypoint and runtime ${y.runtime} has no default`);
    const python = join(dir, BUNDLE_PYTHON_DIR);
    const pythonDir = (await stat(python).catch(() => undefined))?.isDirectory() === true ? python : undefined;
    return { dir, pythonDir, runtime: y.runtime, entrypoint };
  }
}
