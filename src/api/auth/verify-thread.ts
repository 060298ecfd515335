import { verify, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The thread's code, evaluated as CommonJS (no module file to find from the sources under tsx or from dist). It
 * keeps the public keys it was sent by the number the main thread gave each, and answers each batch with one
 * message of [check number, verdict] pairs.
 */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (m) => {
  for (const [id, key] of m.keys) keys.set(id, key);
  const out = new Array(m.checks.length);
  for (let i = 0; i < m.checks.length; i++) {
    const [id, keyId, data, signature] = m.checks[i];
    let ok = false;
    try {
      ok = verify('sha256', data, keys.get(keyId), signature);
    } catch {
      ok = false;
    }
    out[i] = [id, ok];
  }
  parentPort.postMessage(out);
});
`;

/**
 * Keys are numbered from 0 up to this, then from 0 again, so the thread holds at most this many (one per API key
 * that signed lately).
 */
const MAX_KEYS = 10_000;

export interface VerifyThreadOptions {
  /** How many keys the thread holds at most. */
  maxKeys?: number;
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
 * turn to end, gave no gain in (a): a message per check costs the loop nearly what the pool did.)
 *
 * If the thread fails, what it had not answered is checked on libuv's pool instead, and the next check starts a
 * new thread. The thread holds no handle on the process: it is unreferenced whenever nothing waits for it.
 */
export class VerifyThread {
  private worker: Worker | undefined;
  private keyIds = new WeakMap<KeyObject, number>();
  private keysSent = 0;
  private nextId = 0;
  private batchesOut = 0;
  private scheduled = false;
  private readonly waiting = new Map<number, Check>();
  private readonly maxKeys: number;
  private queued: [number, number, Buffer, Buffer][] = [];
  private newKeys: [number, KeyObject][] = [];

  constructor(opts: VerifyThreadOptions = {}) {
    this.maxKeys = opts.maxKeys ?? MAX_KEYS;
  }

  /** Resolves with the verdict; never rejects (a key that cannot verify is a bad signature). */
  check(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      this.started();
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
          if (this.worker !== undefined) this.post(this.worker);
        });
      }
    });
  }

  /** Ends the thread. What it has not answered is checked on libuv's pool; a later check starts a new thread. */
  async terminate(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.fail(worker);
    await worker.terminate();
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (out: [number, boolean][]) => this.onAnswers(worker, out));
    worker.on('error', () => this.fail(worker));
    worker.on('exit', () => this.fail(worker));
    this.worker = worker;
    // A new thread knows no key yet.
    this.keyIds = new WeakMap();
    this.keysSent = 0;
    return worker;
  }

  private post(worker: Worker): void {
    if (this.queued.length === 0) return;
    if (this.batchesOut === 0) worker.ref();
    this.batchesOut++;
    worker.postMessage({ checks: this.queued, keys: this.newKeys });
    this.queued = [];
    this.newKeys = [];
  }

  private onAnswers(worker: Worker, out: [number, boolean][]): void {
    // A thread that was ended may still deliver answers it sent before: its checks went to the pool then, and
    // counting its batch against the new thread's would leave that one holding the process open.
    if (worker !== this.worker) return;
    this.batchesOut--;
    for (const [id, ok] of out) {
      const check = this.waiting.get(id);
      if (check === undefined) continue;
      this.waiting.delete(id);
      check.resolve(ok);
    }
    if (this.batchesOut === 0) worker.unref();
  }

  /**
   * Keys are numbered afresh from 0: the thread replaces a number's key when a batch brings a new one. Checks already
   * queued name keys by their old numbers, so they are posted first (the thread takes messages in order).
   */
  private restartKeys(): void {
    if (this.worker !== undefined) this.post(this.worker);
    this.keyIds = new WeakMap();
    this.keysSent = 0;
  }

  private fail(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
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
