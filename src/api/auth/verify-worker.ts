/**
 * The thread side of VerifyThread: answers each batch of RSA checks with one message of [check number, verdict]
 * pairs, keeping the public keys it was sent by the number the main thread gave each. It runs on a thread of its
 * own (started with `workerData.role === 'rsa-checks'`), or on another helper thread that was handed a port and
 * this module's URL (a delivery thread: one isolate fewer, about 10 MB of RSS).
 */
import { verify, type KeyObject } from 'node:crypto';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

/** A check as it crosses: its number, its key's number, the signed data and the signature. */
export type WireCheck = [id: number, keyId: number, data: Uint8Array, signature: Uint8Array];

/** One turn's checks, with the keys they name that the thread has not been sent yet. */
export interface CheckBatch {
  checks: WireCheck[];
  keys: [number, KeyObject][];
}

/** [check number, verdict] for every check of a batch, in its order. */
export type CheckAnswers = [number, boolean][];

/** What `workerData.role` is on a thread started for checks alone. */
export const CHECKS_ROLE = 'rsa-checks';

/** The verdicts of one batch; a key that cannot verify RSA, or none under the number, is a bad signature. */
function answerBatch(keys: Map<number, KeyObject>, m: CheckBatch): CheckAnswers {
  for (const [id, key] of m.keys) keys.set(id, key);
  const out: CheckAnswers = new Array(m.checks.length);
  for (let i = 0; i < m.checks.length; i++) {
    const [id, keyId, data, signature] = m.checks[i]!;
    let ok = false;
    try {
      const key = keys.get(keyId);
      ok = key !== undefined && verify('sha256', data, key, signature);
    } catch {
      ok = false;
    }
    out[i] = [id, ok];
  }
  return out;
}

/** Serves checks on a port (a helper thread's service entry: it is given the port and calls this). */
export function serve(port: MessagePort): void {
  const keys = new Map<number, KeyObject>();
  port.on('message', (m: CheckBatch) => port.postMessage(answerBatch(keys, m)));
}

const role = (workerData as { role?: unknown } | null)?.role;
if (parentPort !== null && role === CHECKS_ROLE) serve(parentPort);
