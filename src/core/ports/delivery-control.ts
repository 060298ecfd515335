import type { Message, Subscription } from '../models.js';

export interface ReplayWindowQuery {
  tenancyId: string;
  topicId: string;
  /** Inclusive. */
  since: number;
  /** Exclusive. */
  until: number;
  /** Keyset position: messages after this (publishedAt, id). */
  after?: { publishedAt: number; id: string };
  limit: number;
}

/**
 * Herald's delivery-control extensions on the storage side: re-enabling a disabled
 * subscription (its held deliveries go out) and replaying retained messages to one.
 */
export interface DeliveryControlStore {
  /**
   * Clears the subscription's disabled mark and failure record and makes its HELD deliveries
   * PENDING, due now, their retry windows moved on by the time they were held (the clock
   * was stopped). Returns whether it was disabled and how many deliveries were released.
   */
  enableSubscription(tenancyId: string, id: string, now: number): Promise<{ wasDisabled: boolean; released: number }>;
  countHeld(subscriptionId: string): Promise<number>;
  /**
   * A deleted subscription's (or every subscription of a deleted topic's) HELD deliveries go back to
   * the queue, due now, where the engine cancels them: held ones would otherwise pin their messages
   * against retention for ever. Returns how many.
   */
  releaseHeldOf(scope: { subscriptionId: string } | { topicId: string }, now: number): Promise<number>;
  /** Retained messages of a topic in a time window, oldest first, a page at a time. */
  listMessagesInWindow(q: ReplayWindowQuery): Promise<Message[]>;
  /**
   * Delivers the messages again to the subscription: a finished delivery of one (DELIVERED, DEAD,
   * FILTERED, CANCELLED) becomes PENDING with a fresh retry window, one that never had a delivery
   * gets one; a message with a delivery still to make (PENDING, IN_FLIGHT, HELD) is skipped. When
   * the subscription is disabled they are created HELD. Returns how many were queued.
   */
  replayMessages(sub: Pick<Subscription, 'id' | 'tenancyId' | 'topicId' | 'protocol'>, messageIds: readonly string[], now: number): Promise<number>;
}
