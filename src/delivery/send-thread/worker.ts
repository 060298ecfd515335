/**
 * A delivery thread (see SendThreads): builds the HTTP protocol handlers once and answers each batch of
 * sends with their results, posted back in one message per event-loop turn. It keeps each endpoint's limit of
 * sends at once itself (a KeyedLimiter), so a finished send's place is taken without a turn of the main thread:
 * with the limit kept on the main thread, every freed place waited for that thread's next turn to be filled (the
 * answer crossed over, the engine started the next attempt, the send crossed back). In (b)'s drain the main thread
 * saw a send take 6.3 ms at the median where the thread's own request took 3.3.
 */
import { setMaxListeners } from 'node:events';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { endpointKeys } from '../../core/endpoints.js';
import { SubscriptionLinks } from '../../core/links.js';
import { KeyedLimiter, PER_ENDPOINT } from '../concurrency.js';
import type { ProtocolHandler, SendContext, SendResult } from '../protocol.js';
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
/** This thread keeps each endpoint's limit (the engine does not hold a thread's sends back: limitsEndpoints). */
const queue = new KeyedLimiter(config.perEndpoint ?? PER_ENDPOINT);
/** An endpoint repeats on every send: its key (an origin, parsed) is worked out once per protocol and endpoint. */
const keyOf = endpointKeys();
const NOT_SENT: SendResult = { ok: false, retryable: true, error: 'Not sent: the attempt was stopped while it waited for its endpoint.', notSent: true };

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
  const key = keyOf(ctx.subscription);
  let placed = false;
  try {
    if (handler === undefined) throw new Error(`No delivery handler for protocol ${ctx.subscription.protocol} on the delivery thread.`);
    const entered = queue.acquire(key, group);
    placed = entered === true || (await entered);
    // Aborted before its request started (also when its place came in the turn its group was aborted): no attempt.
    if (!placed || ctx.signal.aborted) {
      answer({ id, result: NOT_SENT });
      return;
    }
    // A send that waited for its place reports when its request started: its attempt is timed from then.
    const startedAt = entered === true ? undefined : Date.now();
    const result = await handler.send(ctx);
    answer({ id, result: startedAt === undefined ? result : { ...result, startedAt } });
  } catch (err) {
    answer({ id, thrown: err instanceof Error ? err.message : String(err) });
  } finally {
    if (placed) queue.release(key);
    const g = groups.get(group);
    if (g !== undefined && --g.running === 0) groups.delete(group);
  }
}

function onBatch(batch: SendBatch): void {
  const sends = unpack(batch, signalOf);
  for (const { id, group, ctx } of sends) void run(id, group, ctx);
  // After the sends: an attempt may time out in the same turn its send was posted.
  for (const { group, reason } of batch.aborts) {
    groups.get(group)?.ac.abort(abortReason(reason));
    queue.abortGroup(group);
  }
}

/** Ports of the services this thread hosts; they would keep it running, so closing the thread closes them. */
const services = new Set<MessagePort>();

/** Runs a hosted service: its module's `serve(port)`. A module that cannot be loaded closes the port (its caller sees it end). */
function host(module: string, servicePort: MessagePort): void {
  services.add(servicePort);
  servicePort.once('close', () => services.delete(servicePort));
  import(module).then(
    (m: { serve(port: MessagePort): void }) => m.serve(servicePort),
    () => servicePort.close(),
  );
}

port.on('message', (m: ToThread) => {
  if (m.type === 'batch') onBatch(m.batch);
  else if (m.type === 'service') host(m.module, m.port);
  else {
    for (const p of services) p.close();
    // Closing the port ends the thread once its HTTP clients are closed.
    void Promise.allSettled([...new Set(registry.values())].map((h) => h.close())).then(() => port.close());
  }
});
