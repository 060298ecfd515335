/**
 * A delivery thread (see SendThreads): builds the HTTP protocol handlers once and answers each batch of
 * sends with their results, posted back in one message per event-loop turn.
 */
import { setMaxListeners } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { SubscriptionLinks } from '../../core/links.js';
import type { ProtocolHandler, SendContext } from '../protocol.js';
import { buildHttpHandlers, registryOf } from '../protocols/http-handlers.js';
import type { SendThreadConfig } from './send-threads.js';
import { abortReason, unpack, type FromThread, type SendBatch, type ToThread, type WireOutcome } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('The delivery thread runs as a worker thread only.');
const config = workerData as SendThreadConfig;
// Only signing secrets are derived here; the links themselves are made on the main thread.
const links = new SubscriptionLinks(Buffer.from(config.linkSecret, 'base64'), () => '');
const handlers = buildHttpHandlers({
  allowPrivateEndpoints: config.allowPrivateEndpoints,
  httpTimeoutMs: config.httpTimeoutMs,
  sms: config.sms,
  signingSecret: (sub) => links.signingSecret(sub.id),
});
const registry = registryOf(handlers);
/** One AbortController per abort group (the sends of one main-thread signal), while any of its sends runs. */
const groups = new Map<number, { ac: AbortController; running: number }>();
let outbox: WireOutcome[] = [];
let posting = false;

function answer(o: WireOutcome): void {
  outbox.push(o);
  if (posting) return;
  posting = true;
  setImmediate(() => {
    posting = false;
    const outcomes = outbox;
    outbox = [];
    port!.postMessage({ type: 'results', outcomes } satisfies FromThread);
  });
}

function signalOf(group: number): AbortSignal {
  let g = groups.get(group);
  if (g === undefined) {
    g = { ac: new AbortController(), running: 0 };
    // Every send of the group listens on it.
    setMaxListeners(0, g.ac.signal);
    groups.set(group, g);
  }
  g.running++;
  return g.ac.signal;
}

async function run(id: number, group: number, ctx: SendContext): Promise<void> {
  const handler: ProtocolHandler | undefined = registry.get(ctx.subscription.protocol);
  try {
    if (handler === undefined) throw new Error(`No delivery handler for protocol ${ctx.subscription.protocol} on the delivery thread.`);
    answer({ id, result: await handler.send(ctx) });
  } catch (err) {
    answer({ id, thrown: err instanceof Error ? err.message : String(err) });
  } finally {
    const g = groups.get(group);
    if (g !== undefined && --g.running === 0) groups.delete(group);
  }
}

function onBatch(batch: SendBatch): void {
  const sends = unpack(batch, signalOf);
  for (const { id, group, ctx } of sends) void run(id, group, ctx);
  // After the sends: an attempt may time out in the same turn its send was posted.
  for (const { group, reason } of batch.aborts) groups.get(group)?.ac.abort(abortReason(reason));
}

port.on('message', (m: ToThread) => {
  if (m.type === 'batch') onBatch(m.batch);
  else
    // Closing the port ends the thread once its HTTP clients are closed.
    void Promise.allSettled([...new Set(registry.values())].map((h) => h.close())).then(() => port.close());
});
