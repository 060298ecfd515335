import type { Logger } from 'pino';
import type { SettledClaim } from '../core/deliveries.js';
import type { DeliveryStore, ReleasedClaim } from '../core/ports/deliveries.js';

/** A claim handed back, with the endpoint key it was queued under. */
export interface KeyedClaim {
  claim: ReleasedClaim;
  key: string;
}

export interface ClaimReturnHooks {
  /** After a batch went back to the queue (e.g. to look again if their endpoint reopened meanwhile). */
  released: (batch: readonly KeyedClaim[]) => void;
  /** After a batch was settled FILTERED or HELD. */
  settled: (batch: readonly SettledClaim[]) => void;
}

/**
 * Claims the engine gives back without an attempt: handed back to the queue (an endpoint at its
 * cap, a rate limit without tokens) or settled FILTERED or HELD. Each kind is collected for one
 * event-loop turn and written in one transaction, one batch after another; a write that fails is
 * only logged, since the claims' leases bring them back.
 */
export class ClaimReturns {
  private releases: KeyedClaim[] = [];
  private settles: SettledClaim[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<DeliveryStore, 'releaseClaims' | 'settleClaims'>,
    private readonly owner: string,
    private readonly logger: Logger,
    private readonly hooks: ClaimReturnHooks,
  ) {}

  release(claims: readonly KeyedClaim[]): void {
    if (claims.length === 0) return;
    const first = this.releases.length === 0;
    this.releases.push(...claims);
    if (first) setImmediate(() => this.flushReleases());
  }

  settle(c: SettledClaim): void {
    const first = this.settles.length === 0;
    this.settles.push(c);
    if (first) setImmediate(() => this.flushSettles());
  }

  /** Writes what is collected now and resolves once every batch so far is written. */
  async drain(): Promise<void> {
    this.flushReleases();
    this.flushSettles();
    await this.chain;
  }

  private flushReleases(): void {
    if (this.releases.length === 0) return;
    const batch = this.releases;
    this.releases = [];
    this.chain = this.chain.then(async () => {
      try {
        await this.store.releaseClaims(batch.map((r) => r.claim), this.owner);
      } catch (err) {
        this.logger.error({ err, count: batch.length }, 'could not hand claims back; their leases will bring them back');
        return;
      }
      this.hooks.released(batch);
    });
  }

  private flushSettles(): void {
    if (this.settles.length === 0) return;
    const batch = this.settles;
    this.settles = [];
    this.chain = this.chain.then(async () => {
      try {
        await this.store.settleClaims(batch, this.owner, Date.now());
      } catch (err) {
        this.logger.error({ err, count: batch.length }, 'could not settle filtered or held deliveries; their leases will bring them back');
        return;
      }
      this.hooks.settled(batch);
    });
  }
}
