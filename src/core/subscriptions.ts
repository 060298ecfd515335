import { requireCompartment } from './compartments.js';
import { checkEndpoint, parseProtocol } from './endpoints.js';
import { casUpdate, moveToCompartment } from './crud.js';
import { IncorrectStateError, InvalidParameterError, NotFoundError, RelatedResourceNotFoundError } from './errors.js';
import { withRetryToken } from './idempotency.js';
import { isOcid, newEtag, newOcid, sha256b64url } from './ids.js';
import type { SubscriptionLinks } from './links.js';
import { HEALTHY, type DefinedTags, type Page, type Subscription, type Tags } from './models.js';
import { checkTopicId } from './topics.js';
import { checkDefinedTags, checkFreeformTags, checkLength, requireString } from './validation.js';
import type { Ports } from './ports/index.js';
import type { Authorizer } from './iam/authorizer.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';

export const DEFAULT_MAX_RETRY_DURATION_MS = 7_200_000;
export const CONFIRMATION_TTL_MS = 3 * 24 * 60 * 60 * 1000;

export interface CreateSubscriptionInput {
  topicId?: string;
  compartmentId?: string;
  protocol?: string;
  endpoint?: string;
  metadata?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateSubscriptionInput {
  maxRetryDurationMs?: number;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface ConfirmationResult {
  topicName: string;
  topicId: string;
  endpoint: string;
  unsubscribeUrl: string;
  message: string;
  subscriptionId: string;
}

/** Told when a subscription needs its confirmation sent; the delivery engine implements it. */
export interface ConfirmationSender {
  confirmationRequested(sub: Subscription): void;
}

export function checkSubscriptionId(id: string): string {
  if (!isOcid(id, 'onssubscription')) throw new InvalidParameterError(`SubscriptionOcid ${id} is invalid.`);
  return id;
}

export function checkMaxRetryDuration(ms: number): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > DEFAULT_MAX_RETRY_DURATION_MS) {
    throw new InvalidParameterError(`maxRetryDuration must be an integer number of milliseconds from 1 to ${DEFAULT_MAX_RETRY_DURATION_MS}.`);
  }
  return ms;
}

/** Subscription lifecycle: PENDING → (confirmation link) ACTIVE → (unsubscribe link or delete) DELETED. */
export class SubscriptionService {
  constructor(
    private readonly store: Pick<Ports, 'deliveryControl' | 'directory' | 'retryTokens' | 'subscriptions' | 'topics'>,
    private readonly links: SubscriptionLinks,
    private readonly authz: Authorizer,
    /** Sends confirmation links (the delivery engine). */
    private readonly sender: ConfirmationSender,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Subscribing needs ONS_TOPIC_SUBSCRIBE on the topic's compartment (a topic the caller may not
   * subscribe to looks missing) and on the compartment the subscription is made in.
   */
  async create(caller: Principal, input: CreateSubscriptionInput, retryToken?: string): Promise<Subscription> {
    const { tenancyId } = caller;
    const topicId = checkTopicId(requireString(input.topicId, 'topicId'));
    const compartmentId = requireString(input.compartmentId, 'compartmentId');
    const protocol = parseProtocol(requireString(input.protocol, 'protocol'));
    const endpoint = checkEndpoint(protocol, requireString(input.endpoint, 'endpoint'));
    const metadata = input.metadata === undefined ? null : checkLength(input.metadata, 'metadata', 4096);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    await requireCompartment(this.store.directory, tenancyId, compartmentId);
    await this.authz.require(caller, 'CreateSubscription', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
    const visible = await this.store.topics.getTopic(tenancyId, topicId);
    if (visible === undefined || !(await this.authz.allows(caller, 'CreateSubscription', visible.compartmentId))) {
      throw new RelatedResourceNotFoundError('Topic', topicId);
    }
    let created = false;
    const sub = await withRetryToken(this.store.retryTokens, { tenancyId, token: retryToken, operation: 'createSubscription', request: input }, async () => {
      const topic = await this.store.topics.getTopic(tenancyId, topicId);
      if (topic === undefined) throw new RelatedResourceNotFoundError('Topic', topicId);
      if (topic.lifecycleState !== 'ACTIVE') throw new IncorrectStateError(`Topic ${topicId} is ${topic.lifecycleState}.`);
      const t = this.now();
      const id = newOcid('onssubscription');
      // Functions are Herald's own resources: nothing to confirm, as in OCI.
      const needsConfirmation = protocol !== 'ORACLE_FUNCTIONS';
      const s: Subscription = {
        id,
        tenancyId,
        compartmentId,
        topicId,
        protocol,
        endpoint,
        metadata,
        lifecycleState: needsConfirmation ? 'PENDING' : 'ACTIVE',
        etag: newEtag(),
        createdAt: t,
        updatedAt: t,
        maxRetryDurationMs: DEFAULT_MAX_RETRY_DURATION_MS,
        freeformTags,
        definedTags,
        confirmationTokenHash: needsConfirmation ? sha256b64url(this.links.confirmationToken(id, 1)) : null,
        confirmationExpiresAt: needsConfirmation ? t + CONFIRMATION_TTL_MS : null,
        confirmationNonce: 1,
        unsubscribeTokenHash: sha256b64url(this.links.unsubscribeToken(id)),
        activatedAt: needsConfirmation ? null : t,
        deletedAt: null,
        filterPolicy: null,
        rateLimitPerSecond: null,
        health: { ...HEALTHY },
      };
      await this.store.subscriptions.insertSubscription(s);
      created = true;
      return s;
    }, this.now);
    if (created && sub.lifecycleState === 'PENDING') this.sender.confirmationRequested(sub);
    return sub;
  }

  async get(caller: Principal, id: string): Promise<Subscription> {
    return this.authorized(caller, 'GetSubscription', id);
  }

  /** The subscription (DELETED included), once the caller may perform `op` on it; a refusal looks like a missing one. */
  async authorized(caller: Principal, op: OperationName, id: string): Promise<Subscription> {
    const sub = await this.load(caller.tenancyId, id);
    await this.authz.require(caller, op, sub.compartmentId, { refusal: () => new NotFoundError('Subscription', id) });
    return sub;
  }

  /** By compartment (inspect there), or by topic alone (inspect in the topic's compartment). */
  async list(caller: Principal, q: { compartmentId?: string; topicId?: string; offset: number; limit: number }): Promise<Page<Subscription>> {
    const { tenancyId } = caller;
    if (q.compartmentId === undefined && q.topicId === undefined) throw new InvalidParameterError('Either compartmentId or topicId must be set.');
    if (q.topicId !== undefined) checkTopicId(q.topicId);
    let scope = q.compartmentId;
    if (scope !== undefined) {
      await requireCompartment(this.store.directory, tenancyId, scope);
    } else if (q.topicId !== undefined) {
      const topic = await this.store.topics.getTopic(tenancyId, q.topicId);
      if (topic === undefined) throw new NotFoundError('Topic', q.topicId);
      scope = topic.compartmentId;
    }
    const where = scope ?? tenancyId;
    await this.authz.require(caller, 'ListSubscriptions', where, { refusal: () => new NotFoundError('Compartment', where) });
    return this.store.subscriptions.listSubscriptions({ tenancyId, ...q });
  }

  async update(caller: Principal, id: string, input: UpdateSubscriptionInput, ifMatch?: string): Promise<Subscription> {
    await this.authorized(caller, 'UpdateSubscription', id);
    const { tenancyId } = caller;
    const maxRetry = input.maxRetryDurationMs === undefined ? undefined : checkMaxRetryDuration(input.maxRetryDurationMs);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    return this.mutate(tenancyId, id, ifMatch, (cur) => ({
      ...cur,
      maxRetryDurationMs: maxRetry ?? cur.maxRetryDurationMs,
      freeformTags: freeformTags ?? cur.freeformTags,
      definedTags: definedTags ?? cur.definedTags,
    }));
  }

  /** Herald's delivery controls (filter policy, rate limit): an update of the subscription, etag and all. */
  async updateControls(
    caller: Principal,
    id: string,
    controls: { filterPolicy?: string | null; rateLimitPerSecond?: number | null },
    ifMatch?: string,
  ): Promise<Subscription> {
    await this.authorized(caller, 'UpdateSubscription', id);
    return this.mutate(caller.tenancyId, id, ifMatch, (cur) => ({
      ...cur,
      filterPolicy: controls.filterPolicy === undefined ? cur.filterPolicy : controls.filterPolicy,
      rateLimitPerSecond: controls.rateLimitPerSecond === undefined ? cur.rateLimitPerSecond : controls.rateLimitPerSecond,
    }));
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    await this.authorized(caller, 'DeleteSubscription', id);
    const { tenancyId } = caller;
    const t = this.now();
    await this.mutate(tenancyId, id, ifMatch, (cur) => ({ ...cur, lifecycleState: 'DELETED', deletedAt: t, confirmationTokenHash: null }));
    await this.store.deliveryControl.releaseHeldOf({ subscriptionId: id }, t);
  }

  /** Moving needs the right in both the source and the destination compartment, as in OCI. */
  async changeCompartment(caller: Principal, id: string, compartmentId: string | undefined, ifMatch?: string, retryToken?: string): Promise<void> {
    await moveToCompartment({ store: this.store, authz: this.authz, now: this.now }, {
      caller,
      compartmentId,
      retryToken,
      op: 'ChangeSubscriptionCompartment',
      retryOperation: `changeSubscriptionCompartment:${id}`,
      authorizeSource: () => this.authorized(caller, 'ChangeSubscriptionCompartment', id),
      move: (target) => this.mutate(caller.tenancyId, id, ifMatch, (cur) => ({ ...cur, compartmentId: target })),
    });
  }

  /** Issues a fresh confirmation link; the previous one stops working. */
  async resendConfirmation(caller: Principal, id: string): Promise<Subscription> {
    await this.authorized(caller, 'ResendSubscriptionConfirmation', id);
    const { tenancyId } = caller;
    const t = this.now();
    const sub = await this.mutate(tenancyId, id, undefined, (cur) => {
      if (cur.lifecycleState !== 'PENDING') throw new IncorrectStateError(`Subscription ${id} is ${cur.lifecycleState}; only PENDING subscriptions can be confirmed.`);
      const nonce = cur.confirmationNonce + 1;
      return {
        ...cur,
        confirmationNonce: nonce,
        confirmationTokenHash: sha256b64url(this.links.confirmationToken(id, nonce)),
        confirmationExpiresAt: t + CONFIRMATION_TTL_MS,
      };
    });
    this.sender.confirmationRequested(sub);
    return sub;
  }

  /** The link a subscriber clicks; the token is the only authority needed. */
  async confirm(id: string, token: string | undefined, protocol: string | undefined): Promise<ConfirmationResult> {
    const sub = await this.findForLink(id, token, protocol);
    const tokenHash = sha256b64url(requireString(token, 'token'));
    let message = 'The subscription is confirmed.';
    if (sub.lifecycleState === 'ACTIVE') {
      // A second click on the link that confirmed it is harmless.
      if (tokenHash !== sha256b64url(this.links.confirmationToken(id, sub.confirmationNonce))) throw new NotFoundError('Subscription', id);
      message = 'The subscription was already confirmed.';
    } else {
      if (sub.confirmationTokenHash === null || tokenHash !== sub.confirmationTokenHash) throw new NotFoundError('Subscription', id);
      if (sub.confirmationExpiresAt !== null && sub.confirmationExpiresAt < this.now()) {
        throw new InvalidParameterError('The confirmation link has expired; ask for a new one (resendConfirmation).');
      }
      const t = this.now();
      await this.mutate(sub.tenancyId, id, undefined, (cur) => ({ ...cur, lifecycleState: 'ACTIVE', activatedAt: t, confirmationTokenHash: null, confirmationExpiresAt: null }));
    }
    const topic = await this.store.topics.getTopic(sub.tenancyId, sub.topicId);
    return {
      topicName: topic?.name ?? '',
      topicId: sub.topicId,
      endpoint: sub.endpoint,
      unsubscribeUrl: this.links.unsubscribeUrl(sub),
      message,
      subscriptionId: id,
    };
  }

  async unsubscribe(id: string, token: string | undefined, protocol: string | undefined): Promise<string> {
    const sub = await this.findForLink(id, token, protocol);
    if (sha256b64url(requireString(token, 'token')) !== sub.unsubscribeTokenHash) throw new NotFoundError('Subscription', id);
    const t = this.now();
    await this.mutate(sub.tenancyId, id, undefined, (cur) => ({ ...cur, lifecycleState: 'DELETED', deletedAt: t, confirmationTokenHash: null }));
    await this.store.deliveryControl.releaseHeldOf({ subscriptionId: id }, t);
    return 'You have been unsubscribed.';
  }

  private async findForLink(id: string, token: string | undefined, protocol: string | undefined): Promise<Subscription> {
    checkSubscriptionId(id);
    requireString(token, 'token');
    const p = parseProtocol(requireString(protocol, 'protocol'));
    const sub = await this.store.subscriptions.getSubscriptionById(id);
    if (sub === undefined || sub.lifecycleState === 'DELETED') throw new NotFoundError('Subscription', id);
    if (sub.protocol !== p) throw new InvalidParameterError(`protocol ${p} does not match the subscription's protocol.`);
    return sub;
  }

  private async load(tenancyId: string, id: string): Promise<Subscription> {
    checkSubscriptionId(id);
    const sub = await this.store.subscriptions.getSubscription(tenancyId, id);
    if (sub === undefined) throw new NotFoundError('Subscription', id);
    return sub;
  }

  /** Deletes are writes too (the row stays, DELETED), so every change goes through casUpdate. */
  private async mutate(tenancyId: string, id: string, ifMatch: string | undefined, change: (cur: Subscription) => Subscription): Promise<Subscription> {
    return casUpdate({
      what: 'Subscription',
      id,
      ifMatch,
      load: async () => {
        const cur = await this.load(tenancyId, id);
        // A deleted subscription is still readable (as DELETED) but no longer writable; gone is checked before the etag.
        if (cur.lifecycleState === 'DELETED') throw new NotFoundError('Subscription', id);
        return cur;
      },
      change: (cur) => ({ ...change(cur), updatedAt: this.now() }),
      replace: (next, etag) => this.store.subscriptions.replaceSubscription(next, etag),
    });
  }
}
