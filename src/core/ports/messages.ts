import type { PublishOutcome, PublishPlan } from '../deliveries.js';
import type { Message } from '../models.js';

/** Stored messages, read back tenancy-scoped. */
export interface MessageStore {
  /** Inserts every message in one transaction (group commit). All or nothing; no fan-out. */
  insertMessages(messages: Message[]): Promise<void>;
  getMessage(tenancyId: string, id: string): Promise<Message | undefined>;
}

/** The publish path's one write. */
export interface PublishStore {
  /**
   * Stores every message whose topic exists (not DELETED) and fans it out per the plan, all in
   * one transaction (group commit). Messages of missing topics are skipped, not failed, so one
   * bad publish cannot sink its group. Resolves once the group is durable. `onCommitted`, when given, is called
   * with the same outcome as soon as the group is committed, before it is durable against a power cut (a store
   * whose commit is itself durable may not call it: the caller then goes on when the promise resolves).
   */
  publishMessages(messages: Message[], plan: PublishPlan, onCommitted?: (outcome: PublishOutcome) => void): Promise<PublishOutcome>;
}
