/**
 * Holds this process's SQLite writers back while the checkpoint worker restarts the WAL.
 *
 * better-sqlite3 runs every transaction synchronously on the event loop, so none is ever
 * open across an await: once the gate is closed (between two event-loop tasks) no write
 * is running, and every later writer waits on a promise instead of spinning in SQLite's
 * busy handler, which would block the whole event loop with sleeps of up to 100 ms.
 * Requests keep being parsed and deliveries keep running meanwhile; only commits wait.
 */
export class WriteGate {
  #closed: { promise: Promise<void>; open: () => void } | undefined;
  static readonly #OPEN = Promise.resolve();

  /** Resolves at once while open; while closed, when the gate opens again. */
  pass(): Promise<void> {
    return this.#closed?.promise ?? WriteGate.#OPEN;
  }

  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  close(): void {
    if (this.#closed !== undefined) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#closed = { promise, open };
  }

  open(): void {
    const closed = this.#closed;
    this.#closed = undefined;
    closed?.open();
  }
}
