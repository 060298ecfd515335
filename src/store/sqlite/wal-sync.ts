import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Background fsyncs (flushSoon) start at most this often. */
const FLUSH_GAP_MS = 10;

/**
 * Makes committed WAL frames durable with fsync on libuv's thread pool instead of inside
 * the commit. A publish group commits with synchronous = NORMAL (its frames reach the
 * OS, not the disk) and is acknowledged only after `sync()` resolves: an fsync of the
 * WAL file that started after the commit, so it covers it (fsync is per file, whichever
 * descriptor asks). The event loop keeps parsing requests during the ~0.3-1 ms fsync, and
 * every commit made meanwhile shares the next one.
 *
 * Commits that need no fsync of their own (the engine's bookkeeping, `relaxedTx`) ask for one in the background
 * (flushSoon): otherwise the next publish's fsync had to write everything committed since the last one, and under a
 * big fan-out (40,000 rows a second) that was megabytes, 1-21 ms of the publish's acknowledgement.
 */
export class WalSync {
  #file: FileHandle | undefined;
  #inFlight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #lastStartAt = Number.NEGATIVE_INFINITY;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * An fsync that failed, in the background or for a publish: every later sync() fails with it. The kernel reports a
   * failed writeback once, so a later fsync can succeed over frames that never reached the disk (and SQLite's recovery
   * stops at the first frame missing, dropping every commit after it): refusing publishes until Herald restarts is
   * the safe answer.
   */
  #failed: Error | undefined;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#queued !== undefined) return this.#queued;
    const running = this.#inFlight;
    if (running === undefined) return this.#start();
    // The running fsync may have started before our caller's commit: queue one after it,
    // shared by everyone who asks until it starts.
    const next: Promise<void> = running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    this.#queued = next;
    return next;
  }

  /**
   * Frames were committed without fsync: write them out in the background, at most every FLUSH_GAP_MS, so that a
   * publish's own fsync finds little left to write. Nothing waits on it; while an fsync runs, the next commit asks
   * again (what is committed last may wait for the next publish or checkpoint, as before).
   */
  flushSoon(): void {
    if (this.#closed || this.#flushTimer !== undefined || this.#inFlight !== undefined || this.#queued !== undefined) return;
    const wait = this.#lastStartAt + FLUSH_GAP_MS - performance.now();
    if (wait <= 0) {
      this.#background();
      return;
    }
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      if (this.#inFlight === undefined && this.#queued === undefined) this.#background();
    }, wait);
    this.#flushTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#inFlight?.catch(() => undefined);
    await this.#queued?.catch(() => undefined);
    const f = this.#file;
    this.#file = undefined;
    await f?.close();
  }

  /** An fsync nobody waits for: should it fail, every later sync() reports it (#failed). */
  #background(): void {
    if (this.#closed) return;
    this.#start().catch(() => undefined);
  }

  #start(): Promise<void> {
    this.#lastStartAt = performance.now();
    const p: Promise<void> = this.#fsync().finally(() => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    });
    this.#inFlight = p;
    return p;
  }

  async #fsync(): Promise<void> {
    this.#file ??= await open(this.walPath, 'r');
    await this.#syncFile(this.#file);
    // SQLite keeps its WAL file while a connection is open; should it ever have been
    // replaced, the frames are in the new file: sync that one. fstat is a syscall without
    // I/O: made at once, it spares every acknowledgement a second trip through the thread
    // pool and the event loop.
    if (fstatSync(this.#file.fd).nlink === 0) {
      await this.#file.close().catch(() => undefined);
      this.#file = await open(this.walPath, 'r');
      await this.#syncFile(this.#file);
    }
  }

  /** An fsync whose failure is final (#failed): the writeback it reports failed may have lost frames. */
  async #syncFile(file: FileHandle): Promise<void> {
    try {
      await file.sync();
    } catch (err) {
      this.#failed ??= new Error(`The WAL could not be written to disk: ${err instanceof Error ? err.message : String(err)}`);
      throw this.#failed;
    }
  }
}
