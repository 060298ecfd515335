/** What the delivery engine is built with, and the defaults the composition root starts from. */
import { PER_ENDPOINT } from './concurrency.js';
import { WALK_TAIL_MS } from './due-walk.js';
import type { DisabledSubscription, HealthPolicy } from '../core/deliveries.js';

export interface EngineOptions {
  nodeId: string;
  timeScale: number;
  attemptTimeoutMs: number;
  /** A claim not completed within this long is taken back (the node is presumed dead). */
  leaseMs: number;
  claimBatch: number;
  maxInFlight: number;
  /** Attempts of one protocol at once, so slow SMTP cannot take every slot from webhooks. */
  perProtocol: number;
  perEndpoint: number;
  /** Longest sleep when idle: polling stays the source of truth, wake-ups are hints. */
  idlePollMs: number;
  fanoutBatch: number;
  /** Due entries one claim that leaves endpoints out walks at most (claimDeliveriesWalking). */
  claimScan: number;
  /**
   * How often claims that leave endpoints out walk the due order from the beginning again (to find what another node
   * handed back behind the walk). Not often: each time walks the full endpoints' whole backlog, in steps.
   */
  walkRestartMs: number;
  /**
   * How far before its end a walk that reached it goes on from. 0 where this node is the store's only writer
   * (SQLite): whatever it commits later with an earlier due time sends the walk back itself (DueWalk.rewind).
   * Several nodes (PostgreSQL) commit without telling: their fan-out's deliveries, due on their clocks, are found
   * within this tail (WALK_TAIL_MS) by every node, not only by their own.
   */
  walkEndTailMs: number;
}

/** Delivery control the composition root wires in: endpoint health and who hears of disabled subscriptions. */
export interface DeliveryControlWiring {
  /** Absent: subscriptions are never disabled. */
  health?: HealthPolicy;
  onDisabled?: (subs: DisabledSubscription[]) => void;
}

export const DEFAULT_ENGINE_OPTIONS: Omit<EngineOptions, 'nodeId' | 'timeScale' | 'attemptTimeoutMs' | 'leaseMs'> = {
  claimBatch: 256,
  maxInFlight: 1024,
  perProtocol: 512,
  perEndpoint: PER_ENDPOINT,
  idlePollMs: 1000,
  fanoutBatch: 200,
  claimScan: 4096,
  walkRestartMs: 10_000,
  walkEndTailMs: WALK_TAIL_MS,
};
