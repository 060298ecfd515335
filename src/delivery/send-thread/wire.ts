/**
 * What crosses between the main thread and a delivery thread. Sends go over in batches (one postMessage for the
 * sends made together, at the end of the task that made them, not per delivery), and each subscription, topic and
 * message a batch refers to is cloned once however many of its sends name it: a message fanned out to ten
 * subscriptions is one clone.
 */
import type { MessagePort } from 'node:worker_threads';
import type { DeliveryKind } from '../../core/deliveries.js';
import type { Message, Subscription, Topic } from '../../core/models.js';
import type { SendContext, SendResult } from '../protocol.js';

/**
 * One send of a batch; `s`, `t` and `m` index the batch's subscriptions, topics and messages (-1: no message).
 * `g` is its abort group: the sends made under one signal on the main thread (the attempts of one deadline
 * slot) share one group, aborted together, so the thread keeps one AbortController per group, not per send.
 */
export interface WireSend {
  id: number;
  g: number;
  kind: DeliveryKind;
  deliveryId: number;
  attemptNo: number;
  s: number;
  t: number;
  m: number;
  confirmationUrl: string | null;
  unsubscribeUrl: string;
  traceParent: string | null;
}

export interface SendBatch {
  subscriptions: Subscription[];
  topics: Topic[];
  messages: Message[];
  sends: WireSend[];
  /** Abort groups whose attempts were aborted on the main thread (timed out, or Herald is stopping). */
  aborts: Array<{ group: number; reason: WireAbort }>;
}

/** An abort reason as the handlers read it: only its name and message matter (timedOut() checks the name). */
export interface WireAbort {
  name: string;
  message: string;
}

/**
 * `service`: another job the thread hosts beside its sends, so that it needs no isolate of its own: the thread imports
 * `module` and calls its `serve(port)` (the composition root hands the verify thread's RSA checks over this way).
 */
export type ToThread = { type: 'batch'; batch: SendBatch } | { type: 'service'; module: string; port: MessagePort } | { type: 'close' };

/** A send's outcome: what the handler returned, or the message of what it threw. */
export type WireOutcome = { id: number; result: SendResult } | { id: number; thrown: string };

/** A thread's answers; it says nothing when asked to close, it ends (its 'exit' is the answer). */
export type FromThread = { type: 'results'; outcomes: WireOutcome[] };

/** Collects sends for one batch, numbering each distinct object once. */
export class BatchBuilder {
  private readonly subs = new Map<Subscription, number>();
  private readonly topics = new Map<Topic, number>();
  private readonly messages = new Map<Message, number>();
  private batch: SendBatch = emptyBatch();

  get isEmpty(): boolean {
    return this.batch.sends.length === 0 && this.batch.aborts.length === 0;
  }

  add(id: number, group: number, ctx: Omit<SendContext, 'signal'>): void {
    const b = this.batch;
    b.sends.push({
      id,
      g: group,
      kind: ctx.kind,
      deliveryId: ctx.deliveryId,
      attemptNo: ctx.attemptNo,
      s: indexOf(this.subs, b.subscriptions, ctx.subscription),
      t: indexOf(this.topics, b.topics, ctx.topic),
      m: ctx.message === null ? -1 : indexOf(this.messages, b.messages, ctx.message),
      confirmationUrl: ctx.confirmationUrl,
      unsubscribeUrl: ctx.unsubscribeUrl,
      traceParent: ctx.traceParent,
    });
  }

  abort(group: number, reason: unknown): void {
    this.batch.aborts.push({ group, reason: wireAbort(reason) });
  }

  /** The batch so far; the builder starts a new one. */
  take(): SendBatch {
    const b = this.batch;
    this.batch = emptyBatch();
    this.subs.clear();
    this.topics.clear();
    this.messages.clear();
    return b;
  }
}

function emptyBatch(): SendBatch {
  return { subscriptions: [], topics: [], messages: [], sends: [], aborts: [] };
}

function indexOf<T>(seen: Map<T, number>, list: T[], item: T): number {
  let i = seen.get(item);
  if (i === undefined) {
    i = list.push(item) - 1;
    seen.set(item, i);
  }
  return i;
}

export function wireAbort(reason: unknown): WireAbort {
  if (reason instanceof Error || reason instanceof DOMException) return { name: reason.name, message: reason.message };
  return { name: 'AbortError', message: String(reason) };
}

/** The reason to abort with on the thread: a DOMException of the same name, as AttemptDeadlines makes. */
export function abortReason(w: WireAbort): DOMException {
  return new DOMException(w.message, w.name);
}

/** The batch's sends as the handlers take them (the signal is the thread's own, one per abort group). */
export function unpack(batch: SendBatch, signalFor: (group: number) => AbortSignal): Array<{ id: number; group: number; ctx: SendContext }> {
  return batch.sends.map((w) => ({
    id: w.id,
    group: w.g,
    ctx: {
      kind: w.kind,
      deliveryId: w.deliveryId,
      attemptNo: w.attemptNo,
      subscription: batch.subscriptions[w.s]!,
      topic: batch.topics[w.t]!,
      message: w.m === -1 ? null : batch.messages[w.m]!,
      confirmationUrl: w.confirmationUrl,
      unsubscribeUrl: w.unsubscribeUrl,
      signal: signalFor(w.g),
      traceParent: w.traceParent,
    },
  }));
}
