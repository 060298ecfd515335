import type { DeliveryKind } from '../core/deliveries.js';
import type { Message, Protocol, Subscription, Topic } from '../core/models.js';

/** Everything a protocol needs to make one attempt. */
export interface SendContext {
  kind: DeliveryKind;
  deliveryId: number;
  /** 1-based number of this attempt. */
  attemptNo: number;
  subscription: Subscription;
  topic: Topic;
  /** null for CONFIRMATION sends. */
  message: Message | null;
  /** Present for CONFIRMATION sends. */
  confirmationUrl: string | null;
  unsubscribeUrl: string;
  /** Aborted when the attempt times out or the node shuts down. */
  signal: AbortSignal;
  /** The attempt span's W3C traceparent, sent on HTTP requests and function calls; null when tracing is off. */
  traceParent: string | null;
}

/** The `traceparent` header an HTTP send carries, when the attempt is traced. */
export function traceHeaders(ctx: Pick<SendContext, 'traceParent'>): Record<string, string> {
  return ctx.traceParent === null ? {} : { traceparent: ctx.traceParent };
}

/**
 * The outcome of one attempt. `retryable: false` sends the delivery straight to the
 * dead letters (kept and re-drivable), e.g. a 400 from a receiver. `startedAt` (epoch ms) is when the
 * request started, given when it started later than the send was asked for (it waited for its endpoint's turn).
 */
export type SendResult =
  | { ok: true; statusCode?: number; reply?: string; responseExcerpt?: string; startedAt?: number }
  | {
      ok: false;
      retryable: boolean;
      error: string;
      statusCode?: number;
      reply?: string;
      responseExcerpt?: string;
      /** From a Retry-After answer, in milliseconds. */
      retryAfterMs?: number;
      startedAt?: number;
      /**
       * Nothing left Herald: the send was aborted while it waited for its endpoint's turn (a handler that
       * limitsEndpoints). Not an attempt: the delivery goes back to the queue as it was.
       */
      notSent?: true;
    };

export interface ProtocolHandler {
  /** The OCI protocol names this handler serves. */
  readonly protocols: readonly Protocol[];
  /**
   * The handler runs at most PER_ENDPOINT sends of one endpoint at once itself and queues the rest in order
   * (the delivery threads): the engine hands it an endpoint's admitted deliveries without holding them back.
   * A queued send that starts late says so in `startedAt`; one aborted before it started answers `notSent`.
   */
  readonly limitsEndpoints?: boolean;
  send(ctx: SendContext): Promise<SendResult>;
  close(): Promise<void>;
}

/** Response bodies kept in the trace are cut to this many characters. */
export const EXCERPT_LIMIT = 512;
