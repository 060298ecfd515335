import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapSandbox, NoSandbox, type NetworkMode, type Sandbox, type SandboxMode } from './sandbox.js';
import type { FunctionSpec } from './types.js';

export interface SandboxSettings {
  mode: SandboxMode;
  network: NetworkMode;
  /** The Python interpreter functions run with (Debian's by default: the sandbox shows /usr). */
  python3: string;
  /** Each process's private /tmp. */
  tmpBytes?: number;
  /** The bwrap executable (default: `bwrap` on PATH). */
  bwrap?: string;
  /** pasta, for an isolated network (default: `pasta` on PATH). */
  pasta?: string;
}

export type SandboxSetup = { ok: true; sandbox: Sandbox } | { ok: false; sandbox: Sandbox; problem: string };

const PASSWD = 'root:x:0:0:root:/root:/usr/sbin/nologin\nfn:x:1000:1000:fn:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nfn:x:1000:\nnogroup:x:65534:\n';

/**
 * A folder of this Herald's own under the system temp dir, for what sandboxed processes
 * must be able to reach when Herald runs as root and they as nobody: the unpacked bundles
 * and the sandbox's /etc files. The data dir may be private (and root's home is), so they
 * cannot live there. Created 0711 (enterable, not listable); refused if someone else
 * created it first or can write to it.
 */
export async function functionsCacheDir(dataDir: string): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const base = join(tmpdir(), `herald-functions-${uid}`);
  const dir = join(base, createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
  for (const d of [base, dir]) {
    await mkdir(d, { mode: 0o711 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const st = await lstat(d);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new Error(`${d} is not a private directory of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it or set TMPDIR`);
    }
    await chmod(d, 0o711);
  }
  return dir;
}

/** Hints for the usual reasons bwrap cannot make its namespaces. */
function explain(stderr: string): string {
  if (/setting up uid map: Permission denied|loopback: Failed RTM_NEWADDR/.test(stderr)) {
    return ' (AppArmor restricts unprivileged user namespaces: allow userns for /usr/bin/bwrap, or set kernel.apparmor_restrict_unprivileged_userns=0)';
  }
  if (/No permissions to create a new namespace/.test(stderr)) return ' (set kernel.unprivileged_userns_clone=1)';
  if (/Creating new namespace failed/.test(stderr)) return ' (user namespaces are disabled or user.max_user_namespaces is exhausted)';
  return '';
}

/** Runs the real recipe on /usr/bin/true; resolves with why it failed, or undefined. */
function probe(sandbox: BwrapSandbox, bwrap: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const { command, args, env, cwd, uid, gid } = sandbox.probePlan();
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000, ...(uid !== undefined ? { uid, gid } : {}) });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const tool = command === bwrap ? bwrap : `setpriv and pasta (for --functions-network isolated)`;
    const pkg = command === bwrap ? 'bubblewrap' : 'util-linux passt';
    child.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? `${tool} is not installed (Debian: apt-get install ${pkg})` : `${tool} could not be started: ${err.message}`),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      else resolve(`${command} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no output'}${explain(stderr)}`);
    });
  });
}

/** A sandbox that refuses every process, saying why (bwrap unusable and no `--functions-sandbox none`). */
class UnavailableSandbox implements Sandbox {
  readonly mode = 'bwrap' as const;
  readonly network: NetworkMode;
  constructor(
    private readonly problem: string,
    network: NetworkMode,
  ) {
    this.network = network;
  }
  async prepareSocketDir(): Promise<void> {}
  plan(spec: FunctionSpec): never {
    throw new Error(`functions cannot run on this server: ${this.problem}. Fix it, or start Herald with --functions-sandbox none to run ${spec.name} without isolation`);
  }
}

/** Builds the configured sandbox and, for bwrap, checks at start that it works here. */
export async function setUpSandbox(settings: SandboxSettings, cacheDir: string): Promise<SandboxSetup> {
  if (settings.mode === 'none') {
    return { ok: true, sandbox: new NoSandbox({ python3: settings.python3, node: process.execPath, path: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin' }) };
  }
  const etcDir = join(cacheDir, 'etc');
  await mkdir(etcDir, { recursive: true, mode: 0o755 });
  await chmod(etcDir, 0o755);
  await writeFile(join(etcDir, 'passwd'), PASSWD, { mode: 0o644 });
  await writeFile(join(etcDir, 'group'), GROUP, { mode: 0o644 });
  const bwrap = settings.bwrap ?? 'bwrap';
  const sandbox = new BwrapSandbox({
    bwrap,
    pasta: settings.pasta ?? 'pasta',
    python3: settings.python3,
    node: process.execPath,
    etcDir,
    tmpBytes: settings.tmpBytes ?? 64 * 1024 * 1024,
    network: settings.network,
  });
  const problem = await probe(sandbox, bwrap);
  return problem === undefined ? { ok: true, sandbox } : { ok: false, sandbox: new UnavailableSandbox(problem, settings.network), problem };
}
