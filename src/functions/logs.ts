import type { CallLogRecord } from './types.js';

const TRUNCATED = '\n[herald: log truncated]\n';

/** Appends chunks up to a byte cap, then records that output was dropped. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.bytes;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part !== chunk) this.truncated = true;
    this.chunks.push(part);
    this.bytes += part.length;
  }

  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? s + TRUNCATED : s;
  }

  get size(): number {
    return this.bytes;
  }
}

/**
 * Captures one process's stdout+stderr and attributes it to calls. Fn swaps the
 * log writer per call; here, since a process runs one call at a time, output that
 * arrives while a call is open belongs to it. Output written while idle (module
 * init on a cold start, stray timers) is held and prefixed to the next call's
 * logs, so a cold call shows its init output.
 */
export class ProcessLogCapture {
  private current: CappedBuffer | null = null;
  private idle: CappedBuffer;
  /** Last bytes of stderr, kept for start-failure and crash messages. */
  private stderrTail = Buffer.alloc(0);

  constructor(
    private readonly maxCallBytes: number,
    private readonly maxIdleBytes = 64 * 1024,
    private readonly tailBytes = 4 * 1024,
  ) {
    this.idle = new CappedBuffer(maxIdleBytes);
  }

  write(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    (this.current ?? this.idle).push(chunk);
    if (stream === 'stderr') {
      const joined = Buffer.concat([this.stderrTail, chunk]);
      this.stderrTail = joined.length > this.tailBytes ? joined.subarray(joined.length - this.tailBytes) : joined;
    }
  }

  beginCall(): void {
    this.current = new CappedBuffer(this.maxCallBytes);
    if (this.idle.size > 0) this.current.push(Buffer.from(this.idle.text(), 'utf8'));
    this.idle = new CappedBuffer(this.maxIdleBytes);
  }

  /** Closes the call and returns its logs; later output goes to the idle buffer. */
  endCall(): string {
    const text = this.current?.text() ?? '';
    this.current = null;
    return text;
  }

  tail(): string {
    return this.stderrTail.toString('utf8').trim();
  }
}

/**
 * The last N call records per function, in memory only. Persisting them (e.g. to
 * the store or a log sink) is the integrator's job. Each record's logs are cut to
 * `maxRecordBytes` so a chatty function cannot hold N MiB per function.
 */
export class CallLogRing {
  private readonly byFunction = new Map<string, CallLogRecord[]>();

  constructor(
    private readonly perFunction = 100,
    private readonly maxRecordBytes = 64 * 1024,
  ) {}

  add(functionId: string, record: CallLogRecord): void {
    let list = this.byFunction.get(functionId);
    if (!list) {
      list = [];
      this.byFunction.set(functionId, list);
    }
    const logs = Buffer.byteLength(record.logs) > this.maxRecordBytes
      ? Buffer.from(record.logs).subarray(0, this.maxRecordBytes).toString('utf8') + TRUNCATED
      : record.logs;
    list.push({ ...record, logs });
    if (list.length > this.perFunction) list.splice(0, list.length - this.perFunction);
  }

  /** Newest first. */
  recent(functionId: string, limit: number): CallLogRecord[] {
    const list = this.byFunction.get(functionId) ?? [];
    const n = Math.max(0, Math.min(limit, list.length));
    return list.slice(list.length - n).reverse();
  }

  forget(functionId: string): void {
    this.byFunction.delete(functionId);
  }

  clear(): void {
    this.byFunction.clear();
  }
}
