import type { LoadedContext } from './context-loader.js';
import type { AttemptDeadlines } from './deadline.js';
import type { DeliveryMetrics } from './metrics.js';
import type { ProtocolHandler, SendResult } from './protocol.js';
import type { AttemptResult, Delivery, DeliveryTransition } from '../core/deliveries.js';
import type { SubscriptionLinks } from '../core/links.js';
import type { Protocol } from '../core/models.js';
import { planRetry } from '../core/retry-schedule.js';
import type { TraceSpan, Tracing } from '../telemetry/tracing.js';

export interface AttemptDeps {
  registry: ReadonlyMap<Protocol, ProtocolHandler>;
  links: SubscriptionLinks;
  metrics: DeliveryMetrics;
  nodeId: string;
  timeScale: number;
  attemptTimeoutMs: number;
  /** The attempt's time limit, cut short on shutdown so in-flight sends stop promptly. */
  deadlines: AttemptDeadlines;
  /** One span per attempt, a child of the message's publish span. */
  tracing: Tracing;
}

/** The attempt's span: a child of the publish (its traceparent stored with the message); a confirmation starts a trace. */
function attemptSpan(d: Delivery, ctx: LoadedContext, attemptNo: number, tracing: Tracing): TraceSpan {
  // Without tracing, the attributes would be built for nothing on every delivery.
  if (!tracing.enabled) return tracing.startSpan(`deliver ${d.protocol}`, { kind: 'client', parent: null, attributes: {} });
  return tracing.startSpan(`deliver ${d.protocol}`, {
    kind: 'client',
    parent: ctx.message?.traceParent ?? null,
    attributes: {
      'messaging.system': 'herald',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'deliver',
      'messaging.destination.name': d.topicId,
      'messaging.message.id': d.messageId,
      'herald.delivery.id': d.id,
      'herald.delivery.kind': d.kind,
      'herald.delivery.attempt': attemptNo,
      'herald.subscription.id': d.subscriptionId,
      'herald.protocol': d.protocol,
      'herald.tenancy.id': d.tenancyId,
    },
  });
}

/** Records how the attempt went on its span and ends it. */
function endAttemptSpan(span: TraceSpan, result: AttemptResult): void {
  const { attempt, transition } = result;
  span.setAttributes({
    'herald.delivery.outcome': attempt.outcome,
    'herald.delivery.next_state': transition.state,
    'http.response.status_code': attempt.statusCode,
  });
  if (attempt.outcome === 'FAILURE') span.fail(attempt.error ?? 'failed');
  span.end();
}

/** Why a delivery will never be attempted, or undefined when it should be. */
function skipReason(d: Delivery, ctx: LoadedContext): string | undefined {
  const sub = ctx.subscription;
  if (sub === undefined || sub.lifecycleState === 'DELETED') return 'The subscription was deleted before delivery.';
  if (d.kind === 'CONFIRMATION' && (sub.lifecycleState !== 'PENDING' || sub.confirmationNonce !== d.confirmationNonce)) {
    return 'The confirmation request was superseded (confirmed or re-sent).';
  }
  return undefined;
}

/** A send that never left Herald (see SendResult.notSent): no attempt; the claim goes back as it was. */
export const NOT_ATTEMPTED = 'not-attempted';

/** Makes one attempt of one claimed delivery and decides what happens to it next. */
export async function attemptDelivery(d: Delivery, ctx: LoadedContext, deps: AttemptDeps): Promise<AttemptResult | typeof NOT_ATTEMPTED> {
  const span = attemptSpan(d, ctx, d.attempts + 1, deps.tracing);
  let result: AttemptResult | typeof NOT_ATTEMPTED | undefined;
  try {
    result = await attemptOnce(d, ctx, deps, span.traceParent);
    return result;
  } finally {
    if (result === NOT_ATTEMPTED) {
      span.fail('Not sent: stopped while it waited for its endpoint.');
      span.end();
    } else if (result !== undefined) endAttemptSpan(span, result);
    else {
      span.fail('The attempt crashed.');
      span.end();
    }
  }
}

async function attemptOnce(d: Delivery, ctx: LoadedContext, deps: AttemptDeps, traceParent: string | null): Promise<AttemptResult | typeof NOT_ATTEMPTED> {
  const startedAt = Date.now();
  const attemptNo = d.attempts + 1;
  const skip = skipReason(d, ctx);
  if (skip !== undefined) {
    deps.metrics.finished(d, 'CANCELLED', ctx.message?.publishedAt ?? null);
    return {
      deliveryId: d.id,
      leaseOwner: deps.nodeId,
      attempt: { deliveryId: d.id, attemptNo, startedAt, node: deps.nodeId, durationMs: 0, outcome: 'FAILURE', statusCode: null, reply: null, error: skip, responseExcerpt: null },
      transition: { state: 'CANCELLED' },
    };
  }
  const sub = ctx.subscription!;
  let sent: SendResult;
  /** Whether the endpoint itself was tried with a message: only that says anything about its health. */
  let tried = false;
  const handler = deps.registry.get(sub.protocol);
  if (ctx.topic === undefined || (d.kind === 'MESSAGE' && ctx.message === null)) {
    sent = { ok: false, retryable: false, error: 'The message or its topic no longer exists.' };
  } else if (handler === undefined) {
    // Retryable: the runtime for this protocol may come up (e.g. functions) within the window.
    sent = { ok: false, retryable: true, error: `No delivery handler for protocol ${sub.protocol} on this node.` };
  } else {
    const topic = ctx.topic;
    tried = d.kind === 'MESSAGE';
    try {
      sent = await deps.deadlines.run(deps.attemptTimeoutMs, (signal) => handler.send({
        kind: d.kind,
        deliveryId: d.id,
        attemptNo,
        subscription: sub,
        topic,
        message: ctx.message,
        confirmationUrl: d.kind === 'CONFIRMATION' ? deps.links.confirmationUrl(sub) : null,
        unsubscribeUrl: deps.links.unsubscribeUrl(sub),
        signal,
        traceParent,
      }));
    } catch (err) {
      sent = { ok: false, retryable: true, error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (!sent.ok && sent.notSent === true) return NOT_ATTEMPTED;
  // A send that waited for its endpoint's turn (on a delivery thread) is timed from its request's start.
  const requestAt = sent.startedAt ?? startedAt;
  const durationMs = Date.now() - requestAt;
  deps.metrics.attempt(d, sent.ok ? 'success' : 'failure', durationMs);
  let transition: DeliveryTransition;
  if (sent.ok) {
    transition = { state: 'DELIVERED' };
  } else if (!sent.retryable) {
    transition = { state: 'DEAD' };
  } else {
    const plan = planRetry({
      failedAttempts: attemptNo,
      now: Date.now(),
      windowStartAt: d.windowStartAt,
      maxRetryDurationMs: sub.maxRetryDurationMs,
      timeScale: deps.timeScale,
      retryAfterMs: sent.retryAfterMs,
    });
    transition = plan.retry ? { state: 'PENDING', nextAttemptAt: plan.at } : { state: 'DEAD' };
  }
  if (transition.state !== 'PENDING') deps.metrics.finished(d, transition.state, ctx.message?.publishedAt ?? null);
  // Spelled out, not spread from a shared base: one object per attempt instead of three.
  const result: AttemptResult = {
    deliveryId: d.id,
    leaseOwner: deps.nodeId,
    attempt: {
      deliveryId: d.id,
      attemptNo,
      startedAt: requestAt,
      node: deps.nodeId,
      durationMs,
      outcome: sent.ok ? 'SUCCESS' : 'FAILURE',
      statusCode: sent.statusCode ?? null,
      reply: sent.reply ?? null,
      error: sent.ok ? null : sent.error,
      responseExcerpt: sent.responseExcerpt ?? null,
    },
    transition,
  };
  if (tried) {
    result.health = sent.ok ? 'success' : 'failure';
    result.subscriptionId = d.subscriptionId;
  }
  return result;
}
