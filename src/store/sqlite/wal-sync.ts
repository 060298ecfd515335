import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes committed WAL frames durable with fsync on libuv's thread pool instead of inside
 * the commit. A publish group commits with synchronous = NORMAL (its frames reach the
 * OS, not the disk) and is acknowledged only after `sync()` resolves: an fsync of the
 * WAL file that started after the commit, so it covers it (fsync is per file, whichever
 * descriptor asks). The event loop keeps parsing requests during the ~0.3-1 ms fsync, and
 * every commit made meanwhile shares the next one.
 */
export class WalSync {
  #file: FileHandle | undefined;
  #inFlight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
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

  async close(): Promise<void> {
    await this.#inFlight?.catch(() => undefined);
    await this.#queued?.catch(() => undefined);
    const f = this.#file;
    this.#file = undefined;
    await f?.close();
  }

  #start(): Promise<void> {
    const p: Promise<void> = this.#fsync().finally(() => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    });
    this.#inFlight = p;
    return p;
  }

  async #fsync(): Promise<void> {
    this.#file ??= await open(this.walPath, 'r');
    await this.#file.sync();
    // SQLite keeps its WAL file while a connection is open; should it ever have been
    // replaced, the frames are in the new file: sync that one. fstat is a syscall without
    // I/O: made at once, it spares every acknowledgement a second trip through the thread
    // pool and the event loop.
    if (fstatSync(this.#file.fd).nlink === 0) {
      await this.#file.close().catch(() => undefined);
      this.#file = await open(this.walPath, 'r');
      await this.#file.sync();
    }
  }
}
