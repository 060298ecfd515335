/**
 * Child processes with a tiny request/reply protocol over the IPC channel. Every
 * ceiling and the receiver run in their own process so that none shares an event
 * loop with the load generator.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
    });
    void this.exited.then((code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited with ${code}`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Starts `script` (a bench .ts file, run through tsx) and waits for its ready message. */
  static async start<R = unknown>(name: string, script: URL, env: Record<string, string> = {}): Promise<{ child: Child; ready: R }> {
    const proc = fork(fileURLToPath(script), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child(name, proc);
    const ready = await new Promise<R>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name} did not start`)), 30_000);
      proc.once('message', (m: { ready?: R }) => {
        clearTimeout(t);
        resolve(m.ready as R);
      });
      void child.exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`${name} exited with ${code} before it was ready`));
      });
    });
    return { child, ready };
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

type Handler = (msg: Record<string, unknown>) => unknown;

/** Child side: answers the parent's requests with these handlers, then says it is ready. */
export function serveParent(handlers: Record<string, Handler>, ready: unknown): void {
  if (process.send === undefined) throw new Error('run this file through Child.start (it needs an IPC channel)');
  process.on('message', (m: { id: number; cmd: string } & Record<string, unknown>) => {
    const h = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (h === undefined) throw new Error(`unknown command ${m.cmd}`);
        return h(m);
      })
      .then(
        (result: unknown) => process.send!({ id: m.id, ok: true, result }),
        (err: unknown) => process.send!({ id: m.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready });
}
