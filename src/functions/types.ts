
/**
 * Shapes shared by the Docker-free Fn runtime. One OS child process plays the
 * part of one Fn "hot container" and speaks the FDK http-stream contract over a
 * unix socket (see docs: shared reference "oci-functions-and-fn.md" §1).
 */

/** Everything the runtime needs to run one deployed function version. */
export interface FunctionSpec {
  id: string;
  appId: string;
  name: string;
  appName: string;
  /** Digest or version. Part of the pool key, so a redeploy gets fresh processes. */
  version: string;
  /** Extracted bundle folder holding func.yaml and the code (Fn's /function); the process's cwd. */
  dir: string;
  /** Python packages built at deploy (Fn's /python), when the bundle has them. */
  pythonDir?: string;
  /** Shell-free command line, split into argv (quotes allowed, no expansion). Empty → runtime default. */
  entrypoint: string;
  runtime: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** App config merged with function config (function wins). Exposed as env vars. */
  config: Record<string, string>;
}

export interface InvokeRequest {
  body: Buffer;
  contentType?: string;
  /** Caller headers. Plain invoke: forwarded as-is; gateway mode: as `Fn-Http-H-<name>`. */
  headers?: Record<string, string>;
  /** Setting method or url switches to the HTTP-gateway view (`Fn-Intent: httprequest`). */
  method?: string;
  url?: string;
  /** Use this call id instead of a fresh UUID (e.g. to correlate with an opc-request-id). */
  callId?: string;
}

export interface InvokeOptions {
  /** Aborting while queued drops the call; aborting while running kills the process. invoke() then rejects with the reason. */
  signal?: AbortSignal;
}

/** Why a call did not succeed; lets the HTTP layer pick Fn's or OCI's exact wording and status. */
export type InvokeErrorKind =
  | 'function' // the FDK answered 502: the handler threw (process kept)
  | 'timeout' // call exceeded timeoutSeconds (process killed)
  | 'oom' // memory limit exceeded (process killed)
  | 'crash' // process died or the connection broke mid-call (process discarded)
  | 'invalid-response' // FDK answered a status other than 200/502/504 (process discarded)
  | 'too-large' // response body over the cap (process discarded)
  | 'start' // process failed to start or to create its socket in time
  | 'busy' // pool and wait queue full, or waited too long for a free process
  | 'stopped'; // the runtime was closed while the call ran

export interface InvokeResult {
  /** As Fn: 200 ok; 502 function error, crash, out of memory or exit before ready; 504 timeout or never listened; 503 too busy; 500 Herald's own failure. */
  status: number;
  body: Buffer;
  /** Lower-cased response headers (hop-by-hop removed, `Fn-Http-H-` prefix stripped). */
  headers: Record<string, string>;
  callId: string;
  /** Wall time of the whole invoke: queue wait + cold start (if any) + the call itself. */
  durationMs: number;
  error?: string;
  errorKind?: InvokeErrorKind;
  /** `Fn-Http-Status` set by the function via the HTTP gateway, if any (removed from headers). */
  httpStatus?: number;
  /** True when this call had to start a new process. */
  coldStart: boolean;
  /**
   * The process that served the call: its runtime id, and the host pid of what Herald spawned
   * (bwrap, in a sandbox; the function sees other pids inside its namespace).
   */
  process?: { id: string; pid: number | undefined };
  /** This call's stdout+stderr (plus output the process wrote while idle before it, e.g. init logs). */
  logs: string;
}

export interface CallLogRecord {
  callId: string;
  /** ISO time the invoke started. */
  time: string;
  status: number;
  durationMs: number;
  logs: string;
  error?: string;
}

/** Tunables shared by pools; every field has a default (see DEFAULT_POOL_OPTIONS). */
export interface PoolOptions {
  maxProcesses: number;
  /** Waiters allowed once every process slot is busy or starting. */
  maxQueue: number;
  /** Max time a call may wait for a process; undefined → the function's timeout. */
  queueTimeoutMs?: number;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  /** SIGTERM → SIGKILL grace when stopping an idle process or closing. */
  killGraceMs: number;
  /** RSS limit = memoryMb * rssFactor + rssAllowanceMb. */
  rssFactor: number;
  rssAllowanceMb: number;
  busyPollMs: number;
  idlePollMs: number;
  /** Per-call log cap (Fn's FN_MAX_LOG_SIZE_BYTES default is 1 MiB). */
  maxLogBytes: number;
  /** Response body cap; bigger answers fail with 502-style 'too-large'. */
  maxResponseBytes: number;
  /** Parent folder for the per-process private dirs; the socket path must stay ≤ 107 bytes. */
  tmpRoot?: string;
  /** Where and how processes run: bubblewrap (the server's), or none (the default here, for the runtime's own tests). */
  sandbox: Sandbox;
}

/** Sandbox modes: see sandbox.ts. */
export type SandboxMode = 'bwrap' | 'none';
export type NetworkMode = 'shared' | 'isolated';

/** The paths and tools a function's argv and environment name, as the function sees them. */
export interface FunctionView {
  /** Its code folder (Fn's /function). */
  code: string;
  /** Its Python packages (Fn's /python), when its bundle has some. */
  python: string | undefined;
  /** The folder of its FDK socket. */
  listenerDir: string;
  home: string;
  path: string;
  /** The interpreters a bare `python3`/`python` or `node` resolves to. */
  python3: string;
  node: string;
}

/** How to spawn one function process. */
export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
}

/** The function as its process must be built: the argv and environment it sees (from launch.ts). */
export type InsideCommand = (view: FunctionView) => { argv: string[]; env: Record<string, string> };

export interface Sandbox {
  readonly mode: SandboxMode;
  readonly network: NetworkMode;
  /** Makes a fresh per-process socket dir usable by the process's user. */
  prepareSocketDir(dir: string): Promise<void>;
  plan(spec: FunctionSpec, socketDir: string, inside: InsideCommand): LaunchPlan;
}
