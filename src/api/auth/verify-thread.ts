import { verify, type KeyObject } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { moduleBeside, startWorkerModule } from '../../threads/worker-module.js';
import { CHECKS_ROLE, type CheckAnswers, type CheckBatch, type WireCheck } from './verify-worker.js';

/** What the main thread holds of wherever the checks run: a thread of their own, or a service on another thread. */
export interface CheckChannel {
  post(batch: CheckBatch): void;
  /** Holds the process open while a batch is out; `unref` lets it go again. */
  ref(): void;
  unref(): void;
  /** Ends it: a thread of its own is terminated, a service's port closed. */
  end(): Promise<void>;
}

export interface CheckChannelEvents {
  answers(out: CheckAnswers): void;
  /** It ended or failed: what it had not answered never will be. */
  gone(): void;
}

/** Opens a channel to where checks run; throws when none can be had (the checks then go to libuv's pool). */
export type OpenCheckChannel = (events: CheckChannelEvents) => CheckChannel;

/** The checks' module (verify-worker): what a thread of their own runs, and what a delivery thread is handed to host. */
export function checksModuleUrl(): URL {
  return moduleBeside(import.meta.url, 'verify-worker');
}

/** A thread for the checks alone (used when there is no delivery thread to host them). */
export const ownThread: OpenCheckChannel = (events) => {
  const worker = startWorkerModule(checksModuleUrl(), { role: CHECKS_ROLE });
  worker.unref();
  worker.on('message', (out: CheckAnswers) => events.answers(out));
  worker.on('error', () => events.gone());
  worker.on('exit', () => events.gone());
  return {
    post: (batch) => worker.postMessage(batch),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    end: async () => {
      await worker.terminate();
    },
  };
};

/**
 * Checks served on another thread through a port it was handed (verify-worker.ts's `serve`): the composition root
 * gives VerifyThread this over a delivery thread, so the checks cost no isolate of their own. The port closes when
 * that thread ends.
 */
export function hostedChecks(openPort: () => MessagePort): OpenCheckChannel {
  return (events) => {
    const port = openPort();
    port.on('message', (out: CheckAnswers) => events.answers(out));
    port.on('close', () => events.gone());
    port.unref();
    return {
      post: (batch) => port.postMessage(batch),
      ref: () => port.ref(),
      unref: () => port.unref(),
      end: async () => port.close(),
    };
  };
}

/**
 * Keys are numbered from 0 up to this, then from 0 again, so the thread holds at most this many (one per API key
 * that signed lately).
 */
const MAX_KEYS = 10_000;

export interface VerifyThreadOptions {
  /** How many keys the thread holds at most. */
  maxKeys?: number;
  /** Where the checks run (default: a thread of their own). */
  open?: OpenCheckChannel;
}

interface Check {
  data: Buffer;
  key: KeyObject;
  signature: Buffer;
  resolve: (ok: boolean) => void;
}

/**
 * RSA signature checks on a thread of their own. Handing each check to libuv's thread pool cost the event loop
 * 5.5-8 µs a check (a job, a wake-up and a callback each, and a woken pool thread may take the loop's core), and
 * under (a)'s publishes the loop is what runs short. Here the checks of one turn of the loop go to the thread
 * together, in one message, at the end of the turn (as the delivery threads' sends do): about 2 µs of the loop's
 * time a check. (Posting each check at once while fewer than two batches were out, so that a check would wait for no
 * turn to end, gave no gain in (a): a message per check costs the loop nearly what the pool did.) The thread is
 * whatever `open` gives: by default one of their own; the server hosts them on its delivery thread (`hostedChecks`),
 * since a thread of their own is an isolate and ~10 MB of RSS.
 *
 * If the thread fails, what it had not answered is checked on libuv's pool instead, and the next check starts a
 * new thread. The thread holds no handle on the process: it is unreferenced whenever nothing waits for it.
 */
export class VerifyThread {
  private channel: CheckChannel | undefined;
  private keyIds = new WeakMap<KeyObject, number>();
  private keysSent = 0;
  private nextId = 0;
  private batchesOut = 0;
  private scheduled = false;
  private readonly waiting = new Map<number, Check>();
  private readonly maxKeys: number;
  private readonly open: OpenCheckChannel;
  private queued: WireCheck[] = [];
  private newKeys: [number, KeyObject][] = [];

  constructor(opts: VerifyThreadOptions = {}) {
    this.maxKeys = opts.maxKeys ?? MAX_KEYS;
    this.open = opts.open ?? ownThread;
  }

  /** Resolves with the verdict; never rejects (a key that cannot verify is a bad signature). */
  check(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.started() === undefined) {
        checkOnPool({ data, key, signature, resolve });
        return;
      }
      let keyId = this.keyIds.get(key);
      if (keyId === undefined) {
        if (this.keysSent >= this.maxKeys) this.restartKeys();
        keyId = this.keysSent++;
        this.keyIds.set(key, keyId);
        this.newKeys.push([keyId, key]);
      }
      const id = this.nextId++;
      this.waiting.set(id, { data, key, signature, resolve });
      this.queued.push([id, keyId, data, signature]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          // The thread this turn's checks went to may have failed meanwhile; they were answered then, and a newer
          // thread holds what came after.
          if (this.channel !== undefined) this.post(this.channel);
        });
      }
    });
  }

  /** Ends the thread. What it has not answered is checked on libuv's pool; a later check starts a new thread. */
  async terminate(): Promise<void> {
    const channel = this.channel;
    if (channel === undefined) return;
    this.fail(channel);
    await channel.end();
  }

  /** The current channel, opened if there is none; undefined when none can be opened. */
  private started(): CheckChannel | undefined {
    if (this.channel !== undefined) return this.channel;
    const self: { channel?: CheckChannel } = {};
    try {
      self.channel = this.open({
        answers: (out) => {
          if (self.channel !== undefined) this.onAnswers(self.channel, out);
        },
        gone: () => {
          if (self.channel !== undefined) this.fail(self.channel);
        },
      });
    } catch {
      return undefined;
    }
    this.channel = self.channel;
    // A new thread knows no key yet.
    this.keyIds = new WeakMap();
    this.keysSent = 0;
    return self.channel;
  }

  private post(channel: CheckChannel): void {
    if (this.queued.length === 0) return;
    if (this.batchesOut === 0) channel.ref();
    this.batchesOut++;
    channel.post({ checks: this.queued, keys: this.newKeys });
    this.queued = [];
    this.newKeys = [];
  }

  private onAnswers(channel: CheckChannel, out: CheckAnswers): void {
    // A thread that was ended may still deliver answers it sent before: its checks went to the pool then, and
    // counting its batch against the new thread's would leave that one holding the process open.
    if (channel !== this.channel) return;
    this.batchesOut--;
    for (const [id, ok] of out) {
      const check = this.waiting.get(id);
      if (check === undefined) continue;
      this.waiting.delete(id);
      check.resolve(ok);
    }
    if (this.batchesOut === 0) channel.unref();
  }

  /**
   * Keys are numbered afresh from 0: the thread replaces a number's key when a batch brings a new one. Checks already
   * queued name keys by their old numbers, so they are posted first (the thread takes messages in order).
   */
  private restartKeys(): void {
    if (this.channel !== undefined) this.post(this.channel);
    this.keyIds = new WeakMap();
    this.keysSent = 0;
  }

  private fail(channel: CheckChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.batchesOut = 0;
    this.queued = [];
    this.newKeys = [];
    const left = [...this.waiting.values()];
    this.waiting.clear();
    for (const c of left) checkOnPool(c);
  }
}

function checkOnPool(c: Check): void {
  try {
    verify('sha256', c.data, c.key, c.signature, (err, ok) => c.resolve(err === null && ok));
  } catch {
    c.resolve(false);
  }
}
