/**
 * The delivery threads: HTTP sends (webhooks, Slack, PagerDuty, SMS) made on worker threads, so building,
 * signing and posting requests and reading their answers use a second core while the main thread parses
 * publishes and runs the engine's bookkeeping (claims, completions, limits). The engine still decides
 * everything (what is due, when, under which limits, what happens next): a delivery thread only turns a
 * send into a result, exactly as the handler would on the main thread. A thread holds nothing durable, so
 * losing one loses no delivery: its sends fail as retryable attempts and a new thread takes the next.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { endpointKeyOf } from '../../core/endpoints.js';
import { moduleBeside, startWorkerModule } from '../../threads/worker-module.js';
import type { SmsConfig } from '../../config/config.js';
import type { ProtocolHandler, SendContext, SendResult } from '../protocol.js';
import { BatchBuilder, type FromThread, type ToThread } from './wire.js';

/** What a delivery thread builds its handlers from (plain data: it crosses to the thread). */
export interface SendThreadConfig {
  allowPrivateEndpoints: boolean;
  httpTimeoutMs: number;
  sms: SmsConfig | undefined;
  /** The link secret (base64) the webhook signing secrets derive from. */
  linkSecret: string;
  /** Sends of one endpoint a thread makes at once, the rest waiting there in order (the engine's perEndpoint; PER_ENDPOINT when absent). */
  perEndpoint?: number;
}

export interface SendThreadsOptions {
  /** How many threads; sends of one endpoint always go to the same thread (its keep-alive pool). */
  threads: number;
  /** After an abort, how long a thread has to answer before the send is failed without it. */
  abortGraceMs?: number;
  /** Told when a thread stops unexpectedly (it is replaced at the next send). */
  onThreadError?: (err: unknown) => void;
  /** Starts a thread's worker (spawnSendThread; tests wrap it to reach the worker). */
  spawn?: (config: SendThreadConfig) => Worker;
}

interface Pending {
  resolve(r: SendResult): void;
  reject(e: Error): void;
  /** The sends under the same signal, this one among them until it is answered. */
  watch: AbortWatch;
}

/**
 * The sends made under one abort signal (AttemptDeadlines gives the attempts of one deadline slot the same
 * signal): one listener for all of them instead of one added and removed per send, and one grace timer.
 */
class AbortWatch {
  readonly sends = new Map<number, SendThread>();
  grace: NodeJS.Timeout | undefined;

  /** The abort group its sends carry to the threads. */
  constructor(readonly group: number) {}

  /** A send of this signal was answered (or failed): it no longer waits on the abort. */
  done(id: number): void {
    this.sends.delete(id);
    if (this.sends.size === 0 && this.grace !== undefined) {
      clearTimeout(this.grace);
      this.grace = undefined;
    }
  }
}

/** Starts a delivery thread's worker. */
export function spawnSendThread(config: SendThreadConfig): Worker {
  return startWorkerModule(moduleBeside(import.meta.url, 'worker'), config);
}

class SendThread {
  private worker: Worker | undefined;
  private readonly builder = new BatchBuilder();
  private flushing = false;
  readonly pending = new Map<number, Pending>();

  constructor(
    private readonly config: SendThreadConfig,
    private readonly spawn: (config: SendThreadConfig) => Worker,
    private readonly onError: (err: unknown) => void,
  ) {}

  send(id: number, group: number, ctx: SendContext): void {
    this.builder.add(id, group, ctx);
    this.schedule();
  }

  abort(group: number, reason: unknown): void {
    this.builder.abort(group, reason);
    this.schedule();
  }

  /** Asks the thread to close its HTTP clients and waits for it to end. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.flush();
    const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToThread);
    // A thread that does not close in time is ended: it holds nothing durable.
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await ended;
    clearTimeout(timer);
  }

  /** A port to a service this thread hosts (see `SendThreads.openService`). */
  openService(module: string): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.started().postMessage({ type: 'service', module, port: port2 } satisfies ToThread, [port2]);
    return port1;
  }

  /**
   * One post for the sends made together (a publish's fan-out, a claim, the attempts a thread's results free up),
   * made as soon as the code that made them has run: at the end of the current task's synchronous work and its promise
   * jobs (process.nextTick), not at the event loop's next check phase. A publish group commits in a check phase
   * (setImmediate), so an immediate made there waited for the whole of the next turn: its timers, the completions they
   * commit and every request and answer the poll had for the loop. Timed inside Herald at (c)'s 300/s x 10, commit to
   * post took 0.53-0.79 ms on average (p90 1.2-2.0) that way, and 0.05-0.07 (p90 0.1) this way.
   */
  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    if (this.builder.isEmpty) return;
    const batch = this.builder.take();
    this.started().postMessage({ type: 'batch', batch } satisfies ToThread);
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = this.spawn(this.config);
    this.worker = worker;
    worker.on('message', (m: FromThread) => {
      for (const o of m.outcomes) {
        const p = this.pending.get(o.id);
        if (p === undefined) continue; // failed already (aborted and out of grace)
        this.pending.delete(o.id);
        p.watch.done(o.id);
        if ('result' in o) p.resolve(o.result);
        else p.reject(new Error(o.thrown));
      }
    });
    worker.on('error', (err) => this.onError(err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      // Whatever it had not answered fails as a retryable attempt; the lease rules stay the engine's.
      const error = new Error(`The delivery thread stopped (exit code ${code}) before the send finished.`);
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.watch.done(id);
        p.reject(error);
      }
    });
    return worker;
  }
}

/** Sends handed to delivery threads, answered as the handler's own send() would answer. */
export class SendThreads {
  private readonly threads: SendThread[];
  private nextId = 1;
  private nextGroup = 1;
  private closed = false;
  /** Sends by the signal they were made under; a signal no longer referenced takes its entry with it. */
  private readonly watches = new WeakMap<AbortSignal, AbortWatch>();
  private readonly abortGraceMs: number;

  constructor(config: SendThreadConfig, opts: SendThreadsOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError('SendThreads needs at least one thread.');
    const onError = opts.onThreadError ?? (() => undefined);
    this.threads = Array.from({ length: opts.threads }, () => new SendThread(config, opts.spawn ?? spawnSendThread, onError));
    this.abortGraceMs = opts.abortGraceMs ?? 2000;
  }

  /** The handler with its sends made on a delivery thread. */
  wrap(local: ProtocolHandler): ProtocolHandler {
    return {
      protocols: local.protocols,
      // The thread keeps each endpoint's limit and queue (worker.ts).
      limitsEndpoints: true,
      send: (ctx) => this.send(ctx),
      close: async () => {
        await this.close();
        await local.close();
      },
    };
  }

  /**
   * Makes the send on the thread that serves its endpoint (endpointKeyOf, worked out only when there are threads
   * to choose from), so one endpoint's keep-alive connections are all in one thread's pool.
   */
  send(ctx: SendContext): Promise<SendResult> {
    if (this.closed) return Promise.reject(new Error('The delivery threads are closed.'));
    const signal = ctx.signal;
    if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const thread = this.threads[this.threads.length === 1 ? 0 : hash(endpointKeyOf(ctx.subscription.protocol, ctx.subscription.endpoint)) % this.threads.length]!;
    const id = this.nextId++;
    const watch = this.watches.get(signal) ?? this.watch(signal);
    watch.sends.set(id, thread);
    return new Promise<SendResult>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject, watch });
      thread.send(id, watch.group, ctx);
    });
  }

  private watch(signal: AbortSignal): AbortWatch {
    const watch = new AbortWatch(this.nextGroup++);
    this.watches.set(signal, watch);
    signal.addEventListener('abort', () => this.aborted(watch, signal.reason), { once: true });
    return watch;
  }

  /** Passes an abort on to the threads of the sends still waiting; the ones not answered in time fail without them. */
  private aborted(watch: AbortWatch, reason: unknown): void {
    if (watch.sends.size === 0) return;
    for (const thread of new Set(watch.sends.values())) thread.abort(watch.group, reason);
    // The thread's handler answers an abort at once; should it not, the attempt ends without it.
    watch.grace = setTimeout(() => {
      watch.grace = undefined;
      for (const [id, thread] of watch.sends) {
        const p = thread.pending.get(id);
        watch.sends.delete(id);
        if (p === undefined) continue;
        thread.pending.delete(id);
        p.reject(new Error(`The delivery thread did not answer within ${this.abortGraceMs} ms of the abort.`));
      }
    }, this.abortGraceMs);
  }

  /**
   * Has the first delivery thread host a service beside its sends: it imports `module` and calls its `serve(port)`
   * with the other end of the port returned here. The port closes when that thread ends (a new thread is started by
   * the next send or service). Throws once the threads are closed.
   */
  openService(module: URL | string): MessagePort {
    if (this.closed) throw new Error('The delivery threads are closed.');
    return this.threads[0]!.openService(String(module));
  }

  /** Idempotent: every wrapped handler closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

/** FNV-1a: spreads endpoint keys over the threads, the same key always to the same thread. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
