import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * Runs SQLite's WAL checkpoints on a worker thread with its own connection. Left to
 * SQLite, a checkpoint runs inside whichever commit crosses 1,000 WAL pages: it copies
 * pages into the database and fsyncs it, blocking the event loop for 10-30 ms, which
 * was most of the publish-to-delivery p99. PASSIVE checkpoints never block the writer.
 * If the worker dies, the connection goes back to SQLite's own automatic checkpoints.
 */
export class WalCheckpointer {
  private constructor(
    private readonly worker: Worker,
    private readonly exited: Promise<void>,
  ) {}

  static start(db: Database.Database, file: string, intervalMs = 500): WalCheckpointer {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // Inline CommonJS: the same code runs from dist/ and from sources under tsx.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    const exited = new Promise<void>((resolve) => {
      const fallBack = (): void => {
        if (db.open) db.pragma('wal_autocheckpoint = 1000');
        resolve();
      };
      worker.once('exit', fallBack);
      // An error also ends the worker ('exit' follows); listening keeps it from crashing the process.
      worker.once('error', () => undefined);
    });
    return new WalCheckpointer(worker, exited);
  }

  /** Lets the worker finish a checkpoint in progress and close its connection. */
  async stop(): Promise<void> {
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
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick retries */ }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  process.exit(0);
});
`;
