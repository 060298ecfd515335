import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Row, SqlValue } from '../rows.js';
import type { WalStats } from '../store.js';
import type { WriteGate } from './write-gate.js';

export interface CheckpointOptions {
  /** How often the worker runs a PASSIVE checkpoint. */
  intervalMs: number;
  /** WAL content (frames written since the last restart) above which the WAL is restarted. */
  restartBytes: number;
  /** Longest the writers are held for one restart; past it they go on and the restart is retried later. */
  maxPauseMs: number;
}

export const DEFAULT_CHECKPOINT_OPTIONS: CheckpointOptions = { intervalMs: 200, restartBytes: 16 * 1024 * 1024, maxPauseMs: 1000 };

type FromWorker = { type: 'pause' } | { type: 'resume'; restarted: boolean } | { type: 'read'; id: number; row?: Row; error?: string };

/**
 * Reads made on another thread's connection to the same database: a read that walks a large table costs the event
 * loop nothing there. Such a read sees what was committed before it started, as one on the main connection would.
 */
export interface BackgroundReads {
  /** False once the thread has stopped (or was never there): read on your own connection then. */
  readonly open: boolean;
  /** The first row of a read-only statement; rejects once the thread has stopped. */
  read(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
}

/**
 * Runs SQLite's WAL checkpoints on a worker thread with its own connection, and keeps the
 * WAL small.
 *
 * Left to SQLite, a checkpoint runs inside whichever commit crosses 1,000 WAL pages: it
 * copies pages into the database and fsyncs it, blocking the event loop for 10-30 ms. So
 * the worker runs PASSIVE checkpoints, which never block the writer. But a PASSIVE
 * checkpoint alone never lets the WAL restart under steady load: SQLite rewinds the WAL
 * only when a writer starts while every frame has been copied back, and with commits every
 * few milliseconds some frame always is newer than the last checkpoint, so the file only
 * grew (22 MB/s at 500 msg/s × 3). When the WAL holds more than `restartBytes`, the worker
 * runs a second PASSIVE checkpoint (so little is left), asks the main thread to hold its
 * writers (`WriteGate`: they wait on a promise, the event loop keeps running), and runs a
 * RESTART checkpoint, which copies the few remaining frames, fsyncs the database and
 * rewinds the WAL; `journal_size_limit` then cuts a file that grew past it. The hold is
 * measured from the main thread and reported.
 *
 * If the worker dies, the connection goes back to SQLite's own automatic checkpoints.
 *
 * The worker's connection also makes the main thread's reads of many rows (`BackgroundReads`: the backlog and
 * delivery counts), which would hold the event loop for tens of ms on a large backlog.
 */
/** Counts of restarts and of the writers' holds, with the holds of the last minute for their maximum. */
class HoldStats {
  restarts = 0;
  pauses = 0;
  pauseMsTotal = 0;
  /** [end time, duration] of recent holds. */
  #recent: [number, number][] = [];

  hold(ms: number): void {
    this.pauses++;
    this.pauseMsTotal += ms;
    this.#recent.push([performance.now(), ms]);
    if (this.#recent.length > 1000) this.#recent.shift();
  }

  snapshot(): WalStats {
    const cutoff = performance.now() - 60_000;
    this.#recent = this.#recent.filter(([at]) => at >= cutoff);
    const pauseMsMaxRecent = this.#recent.reduce((max, [, ms]) => Math.max(max, ms), 0);
    return { restarts: this.restarts, pauses: this.pauses, pauseMsTotal: this.pauseMsTotal, pauseMsMaxRecent };
  }
}

export class WalCheckpointer implements BackgroundReads {
  #open = true;
  #nextRead = 1;
  readonly #reads = new Map<number, { resolve: (row: Row | undefined) => void; reject: (err: Error) => void }>();
  private exited: Promise<void> = Promise.resolve();
  private readonly holds = new HoldStats();

  private constructor(private readonly worker: Worker) {}

  get open(): boolean {
    return this.#open;
  }

  /**
   * Runs on the checkpoint thread's connection (the backlog count walks every due delivery: 10-30 ms at 200,000 on
   * the event loop). Waits while that thread runs a checkpoint: the backlog reading is refreshed every half second,
   * so a few ms more there do not matter; the event loop's do.
   */
  read(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    if (!this.#open) return Promise.reject(new Error('The checkpoint thread has stopped.'));
    const id = this.#nextRead++;
    return new Promise<Row | undefined>((resolve, reject) => {
      this.#reads.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'read', id, sql, params });
    });
  }

  /** Answers a read; a read that failed there is refused here with its error. */
  #answered(m: Extract<FromWorker, { type: 'read' }>): void {
    const r = this.#reads.get(m.id);
    if (r === undefined) return;
    this.#reads.delete(m.id);
    if (m.error !== undefined) r.reject(new Error(m.error));
    else r.resolve(m.row);
  }

  /** The thread is gone: reads still waiting are refused, and later ones too. */
  #closed(): void {
    this.#open = false;
    const error = new Error('The checkpoint thread stopped before it answered.');
    for (const r of this.#reads.values()) r.reject(error);
    this.#reads.clear();
  }

  static start(db: Database.Database, file: string, gate: WriteGate, options: Partial<CheckpointOptions> = {}): WalCheckpointer {
    const opts = { ...DEFAULT_CHECKPOINT_OPTIONS, ...options };
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // Inline CommonJS: the same code runs from dist/ and from sources under tsx.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, ...opts } });
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    const checkpointer = new WalCheckpointer(worker);
    const holds = checkpointer.holds;
    let heldSince: number | undefined;
    let safety: NodeJS.Timeout | undefined;
    /** Opens the gate and records how long it was closed (once per hold). */
    const release = (): void => {
      clearTimeout(safety);
      gate.open();
      if (heldSince !== undefined) holds.hold(performance.now() - heldSince);
      heldSince = undefined;
    };
    checkpointer.exited = new Promise<void>((resolve) => {
      const fallBack = (): void => {
        checkpointer.#closed();
        release();
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
        resolve();
      };
      worker.once('exit', fallBack);
      // An error also ends the worker ('exit' follows); listening keeps it from crashing the process.
      worker.once('error', () => undefined);
    });
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'read') {
        checkpointer.#answered(m);
      } else if (m.type === 'pause') {
        // No write transaction can be open here: each runs to completion within one task.
        gate.close();
        heldSince = performance.now();
        // Should the worker never answer, writers go on (SQLite's busy handler then serialises them).
        safety = setTimeout(release, opts.maxPauseMs * 2);
        safety.unref();
        worker.postMessage('paused');
      } else {
        release();
        if (m.restarted) holds.restarts++;
      }
    });
    return checkpointer;
  }

  stats(): WalStats {
    return this.holds.snapshot();
  }

  /** Lets the worker finish a checkpoint in progress and close its connection. */
  async stop(): Promise<void> {
    // Reads are made on the main connection from now on.
    this.#open = false;
    // Unref'd so it never holds a process open; while we wait for it, it must.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
// RESTART waits (in SQLite's busy handler) for readers of older snapshots; bounded, then retried.
db.pragma('busy_timeout = ' + workerData.maxPauseMs);
// FULL: a checkpoint fsyncs the WAL before copying it back and the database after.
db.pragma('synchronous = FULL');
const frameBytes = db.pragma('page_size', { simple: true }) + 24;
let stopping = false;
let running = false;
let timer;
let onPaused;
const reads = new Map();
const finish = () => { db.close(); process.exit(0); };
// A read asked for by the main thread (WalCheckpointer.read): read-only statements only, on this connection.
const read = (m) => {
  try {
    let s = reads.get(m.sql);
    if (s === undefined) {
      s = db.prepare(m.sql);
      if (!s.readonly) throw new Error('Only read-only statements run on the checkpoint thread.');
      reads.set(m.sql, s);
    }
    return { type: 'read', id: m.id, row: s.get(...m.params) };
  } catch (err) {
    return { type: 'read', id: m.id, error: String(err && err.message || err) };
  }
};
parentPort.on('message', (m) => {
  if (typeof m === 'object' && m !== null && m.type === 'read') {
    parentPort.postMessage(read(m));
  } else if (m === 'stop') {
    stopping = true;
    if (!running) { clearTimeout(timer); finish(); }
  } else if (m === 'paused' && onPaused) { const go = onPaused; onPaused = undefined; go(); }
});
const checkpoint = (mode) => db.pragma('wal_checkpoint(' + mode + ')')[0];
async function tick() {
  running = true;
  let next = workerData.intervalMs;
  try {
    const r = checkpoint('PASSIVE');
    const content = r.log * frameBytes;
    // Past half the mark, look again sooner: under a fast writer one interval adds megabytes.
    if (content > workerData.restartBytes / 2) next = workerData.intervalMs / 4;
    if (content > workerData.restartBytes && !stopping) {
      checkpoint('PASSIVE');
      await new Promise((resolve) => { onPaused = resolve; parentPort.postMessage({ type: 'pause' }); });
      let restarted = false;
      try { restarted = checkpoint('RESTART').busy === 0; } catch { /* busy: the next tick retries */ }
      parentPort.postMessage({ type: 'resume', restarted });
    }
  } catch { /* busy or closing: the next tick retries */ }
  running = false;
  if (stopping) finish();
  else timer = setTimeout(tick, next);
}
timer = setTimeout(tick, workerData.intervalMs);
`;
