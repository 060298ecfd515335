import type { IncomingHttpHeaders } from 'node:http';
import type { InvokeErrorKind } from './types.js';

/** What starting a function process, or one call on it, comes to: the vocabulary FdkProcess and the pool share. */

/** The outcome of one call on one process; the pool adds callId, timing and coldStart. */
export interface CallOutcome {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
  httpStatus?: number;
  error?: string;
  errorKind?: InvokeErrorKind;
  logs: string;
  /** Set when the caller's signal aborted the call (the process was killed). */
  aborted?: boolean;
}

/** A failed start; `status` as Fn: 502 exited or misbehaved before ready, 504 never listened, 500 Herald's own fault. */
export class StartError extends Error {
  override readonly name = 'StartError';
  constructor(message: string, readonly status: 500 | 502 | 504 = 502) {
    super(message);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type RawOutcome =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  | { kind: 'transport'; message: string }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'too-large' };

export function describeExit(info: ExitInfo): string {
  if (info.signal) return `killed by ${info.signal}`;
  if (info.code !== null) return `exit code ${info.code}`;
  return 'could not be spawned';
}
