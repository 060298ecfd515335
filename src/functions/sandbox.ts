import { chown } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FunctionSpec, FunctionView, InsideCommand, LaunchPlan, NetworkMode, Sandbox, SandboxMode } from './types.js';

// The sandbox's shapes live in types.ts with the rest (PoolOptions names a Sandbox); re-exported for its users.
export type { FunctionView, InsideCommand, LaunchPlan, NetworkMode, Sandbox, SandboxMode };

/**
 * Where a function process runs, and what it sees. `bwrap` puts every process in a
 * bubblewrap sandbox laid out as Fn's run images are (code at /function, Python packages
 * at /python); `none` runs it as Herald's own user with the host paths (only behind
 * --functions-sandbox none, which warns at start).
 */
/** Fn's /function and /python, as func.yaml entrypoints name them. */
export const FN_CODE = '/function';
export const FN_PYTHON = '/python';
const FN_LISTENER_DIR = '/tmp/iofs';
const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The host's unprivileged user (nobody), for when Herald runs as root. */
const NOBODY = 65534;
/** The uid and gid a function has inside its sandbox, as in Fn's run images. */
const FN_UID = 1000;

export interface SandboxOptions {
  /** The bwrap executable. */
  bwrap: string;
  /** pasta (Debian's passt), for an isolated network. */
  pasta: string;
  /** The python interpreter functions run with; it must live where the sandbox shows it (under /usr). */
  python3: string;
  /** The node binary for `node` entrypoints (Herald's own). */
  node: string;
  /** Files Herald writes for the sandbox (passwd, group), readable by the sandbox user. */
  etcDir: string;
  /** Size of the function's private /tmp. */
  tmpBytes: number;
  network: NetworkMode;
}

/**
 * Rewrites Fn's in-sandbox paths (/function/..., /python/...) to the host's, for `none`:
 * an `fn init` entrypoint (`/python/bin/fdk /function/func.py handler`) then still runs.
 */
function hostPath(word: string, code: string, python: string | undefined): string {
  const swap = (prefix: string, to: string): string | undefined =>
    word === prefix ? to : word.startsWith(`${prefix}/`) ? to + word.slice(prefix.length) : undefined;
  return swap(FN_CODE, code) ?? (python === undefined ? undefined : swap(FN_PYTHON, python)) ?? word;
}

/** No isolation: the process runs as Herald's user, in its code folder, with the host's paths. */
export class NoSandbox implements Sandbox {
  readonly mode = 'none' as const;
  readonly network = 'shared' as const;

  constructor(private readonly opts: Pick<SandboxOptions, 'python3' | 'node'> & { path: string }) {}

  async prepareSocketDir(): Promise<void> {}

  plan(spec: FunctionSpec, socketDir: string, inside: InsideCommand): LaunchPlan {
    const view: FunctionView = {
      code: spec.dir,
      python: spec.pythonDir,
      listenerDir: socketDir,
      home: socketDir,
      path: this.opts.path,
      python3: this.opts.python3,
      node: this.opts.node,
    };
    const { argv, env } = inside(view);
    const mapped = argv.map((w) => hostPath(w, spec.dir, spec.pythonDir));
    for (const [k, v] of Object.entries(env)) env[k] = v.split(':').map((p) => hostPath(p, spec.dir, spec.pythonDir)).join(':');
    return { command: mapped[0]!, args: mapped.slice(1), env, cwd: spec.dir };
  }
}

/**
 * bubblewrap, per process: its own mount, pid, ipc, uts (and, isolated, network)
 * namespaces; a user namespace without capabilities in which it is uid 1000 and may not
 * make another; /usr and its code read-only; a private /tmp; only its socket dir shared
 * with Herald; nothing of Herald's environment. When Herald is root, bwrap itself runs
 * as nobody, so nothing in the sandbox maps to a privileged host user. Killing bwrap (it
 * leads the process group Herald kills) ends the sandbox's whole pid namespace.
 */
export class BwrapSandbox implements Sandbox {
  readonly mode = 'bwrap' as const;
  readonly network: NetworkMode;
  private readonly asRoot = process.getuid?.() === 0;

  constructor(private readonly opts: SandboxOptions) {
    this.network = opts.network;
  }

  async prepareSocketDir(dir: string): Promise<void> {
    if (this.asRoot) await chown(dir, NOBODY, NOBODY);
  }

  plan(spec: FunctionSpec, socketDir: string, inside: InsideCommand): LaunchPlan {
    const view: FunctionView = {
      code: FN_CODE,
      python: spec.pythonDir === undefined ? undefined : FN_PYTHON,
      listenerDir: FN_LISTENER_DIR,
      home: '/tmp',
      path: SANDBOX_PATH,
      python3: this.opts.python3,
      node: this.opts.node,
    };
    const { argv, env } = inside(view);
    const args = [...this.baseArgs(), '--bind', socketDir, FN_LISTENER_DIR, '--ro-bind', spec.dir, FN_CODE];
    if (spec.pythonDir !== undefined) {
      args.push('--ro-bind', spec.pythonDir, FN_PYTHON);
      // Built packages inside the bundle (.herald/python) show at /python only, as in Fn's image.
      if (spec.pythonDir.startsWith(`${spec.dir}/`)) {
        const top = `${FN_CODE}/${spec.pythonDir.slice(spec.dir.length + 1).split('/')[0]!}`;
        args.push('--tmpfs', top, '--remount-ro', top);
      }
    }
    args.push('--chdir', FN_CODE, '--clearenv');
    for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
    args.push('--', ...argv);
    return this.launch(args);
  }

  /** The start-up check: the same recipe, user and network, without a function, running /usr/bin/true. */
  probePlan(): LaunchPlan {
    return this.launch([...this.baseArgs(), '--', '/usr/bin/true']);
  }

  private launch(bwrapArgs: string[]): LaunchPlan {
    return { ...this.wrap(bwrapArgs), env: {}, cwd: '/', ...(this.asRoot ? { uid: NOBODY, gid: NOBODY } : {}) };
  }

  /**
   * The command that starts bwrap with these arguments: bwrap itself, or, for an isolated
   * network, pasta (Debian's passt), which makes a user and network namespace with an
   * interface that reaches the outside through user-mode NAT and, with --no-map-gw, not the
   * host itself (no loopback services), then runs bwrap in it.
   */
  wrap(bwrapArgs: string[]): { command: string; args: string[] } {
    if (this.network === 'shared') return { command: this.opts.bwrap, args: bwrapArgs };
    // -T/-U none: pasta would otherwise forward the namespace's connections to ports bound on
    // the host's loopback; -t/-u none: and nothing from outside into the namespace.
    const noForwarding = ['-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none'];
    // pasta has no --die-with-parent: setpriv gives it a parent-death signal, so the sandbox still dies with Herald.
    const pasta = [this.opts.pasta, '--config-net', '--no-map-gw', ...noForwarding, '--quiet', '--', this.opts.bwrap, ...bwrapArgs];
    return { command: 'setpriv', args: ['--pdeathsig', 'KILL', '--', ...pasta] };
  }

  /** Everything but the function's own folders: the same for the start-up probe. */
  baseArgs(): string[] {
    const args = [
      '--die-with-parent',
      '--new-session',
      // Shared: every namespace but the network. Isolated: pasta already made the network one.
      ...(this.network === 'shared' ? ['--unshare-all', '--share-net'] : ['--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try']),
      '--unshare-user',
      '--disable-userns',
      '--uid',
      String(FN_UID),
      '--gid',
      String(FN_UID),
      '--cap-drop',
      'ALL',
      '--hostname',
      'fn',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--symlink',
      'usr/sbin',
      '/sbin',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--ro-bind',
      `${this.opts.etcDir}/passwd`,
      '/etc/passwd',
      '--ro-bind',
      `${this.opts.etcDir}/group`,
      '/etc/group',
      '--ro-bind-try',
      '/etc/ssl',
      '/etc/ssl',
      '--ro-bind-try',
      '/etc/ca-certificates',
      '/etc/ca-certificates',
      '--ro-bind-try',
      '/etc/localtime',
      '/etc/localtime',
    ];
    args.push('--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf', '--ro-bind-try', '/etc/hosts', '/etc/hosts');
    // Interpreters outside /usr (a Node from nvm, a Python of pyenv) are shown at their own path.
    for (const bin of [this.opts.node, this.opts.python3]) {
      const prefix = dirname(dirname(bin));
      if (!bin.startsWith('/usr/')) args.push('--ro-bind-try', prefix, prefix);
    }
    args.push('--proc', '/proc', '--dev', '/dev', '--size', String(this.opts.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp');
    return args;
  }
}
