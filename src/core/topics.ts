import { requireCompartment } from './compartments.js';
import { activeOnly, casUpdate, guardedDelete, moveToCompartment } from './crud.js';
import { InvalidParameterError, NotFoundError } from './errors.js';
import { withRetryToken } from './idempotency.js';
import { isOcid, newEtag, newOcid, newShortId } from './ids.js';
import type { DefinedTags, Page, SortOrder, Tags, Topic, TopicState } from './models.js';
import { checkDefinedTags, checkFreeformTags, checkLength, requireString } from './validation.js';
import type { Ports } from './ports/index.js';
import type { Authorizer } from './iam/authorizer.js';
import type { OperationName } from './iam/operations.js';
import type { Principal } from './iam/principal.js';

export interface CreateTopicInput {
  name?: string;
  compartmentId?: string;
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface UpdateTopicInput {
  description?: string;
  freeformTags?: Tags;
  definedTags?: DefinedTags;
}

export interface ListTopicsInput {
  compartmentId?: string;
  id?: string;
  name?: string;
  lifecycleState?: string;
  sortBy?: string;
  sortOrder?: string;
  offset: number;
  limit: number;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,256}$/;
const TOPIC_STATES: readonly TopicState[] = ['ACTIVE', 'DELETING', 'CREATING'];

export function checkTopicId(id: string): string {
  if (!isOcid(id, 'onstopic')) throw new InvalidParameterError(`TopicOcid ${id} is invalid.`);
  return id;
}

export function parseSortOrder(raw: string | undefined): SortOrder {
  if (raw === undefined) return 'DESC';
  const v = raw.toUpperCase();
  if (v !== 'ASC' && v !== 'DESC') throw new InvalidParameterError('sortOrder must be ASC or DESC.');
  return v;
}

/** Topic rules: names unique per tenancy and immutable, etag-guarded writes, cascade on delete. */
export class TopicService {
  constructor(
    private readonly store: Pick<Ports, 'deliveryControl' | 'directory' | 'retryTokens' | 'topics'>,
    private readonly authz: Authorizer,
    private readonly now: () => number = Date.now,
  ) {}

  async create(caller: Principal, input: CreateTopicInput, retryToken?: string): Promise<Topic> {
    const { tenancyId } = caller;
    const name = requireString(input.name, 'name');
    if (!NAME_RE.test(name)) {
      throw new InvalidParameterError('name must be 1 to 256 characters: letters, digits, hyphens and underscores.');
    }
    const compartmentId = requireString(input.compartmentId, 'compartmentId');
    const description = input.description === undefined ? null : checkLength(input.description, 'description', 400);
    const freeformTags = checkFreeformTags(input.freeformTags);
    const definedTags = checkDefinedTags(input.definedTags);
    await requireCompartment(this.store.directory, tenancyId, compartmentId);
    await this.authz.require(caller, 'CreateTopic', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
    return withRetryToken(this.store.retryTokens, { tenancyId, token: retryToken, operation: 'createTopic', request: input }, async () => {
      const t = this.now();
      const topic: Topic = {
        id: newOcid('onstopic'),
        tenancyId,
        compartmentId,
        name,
        shortId: newShortId(),
        description,
        freeformTags,
        definedTags,
        lifecycleState: 'ACTIVE',
        etag: newEtag(),
        createdAt: t,
        updatedAt: t,
      };
      await this.store.topics.insertTopic(topic);
      return topic;
    }, this.now);
  }

  async get(caller: Principal, id: string): Promise<Topic> {
    return this.authorized(caller, 'GetTopic', id);
  }

  /** The topic, once the caller may perform `op` on it; a refusal looks like a missing topic. */
  async authorized(caller: Principal, op: OperationName, id: string): Promise<Topic> {
    checkTopicId(id);
    const topic = await this.store.topics.getTopic(caller.tenancyId, id);
    if (topic === undefined) throw new NotFoundError('Topic', id);
    await this.authz.require(caller, op, topic.compartmentId, { refusal: () => new NotFoundError('Topic', id) });
    return topic;
  }

  async list(caller: Principal, input: ListTopicsInput): Promise<Page<Topic>> {
    const { tenancyId } = caller;
    const compartmentId = requireString(input.compartmentId, 'compartmentId');
    await requireCompartment(this.store.directory, tenancyId, compartmentId);
    await this.authz.require(caller, 'ListTopics', compartmentId, { refusal: () => new NotFoundError('Compartment', compartmentId) });
    let lifecycleState: TopicState | undefined;
    if (input.lifecycleState !== undefined) {
      const s = input.lifecycleState.toUpperCase() as TopicState;
      if (!TOPIC_STATES.includes(s)) throw new InvalidParameterError('lifecycleState must be ACTIVE, DELETING or CREATING.');
      lifecycleState = s;
    }
    const sortBy = (input.sortBy ?? 'TIMECREATED').toUpperCase();
    if (sortBy !== 'TIMECREATED' && sortBy !== 'LIFECYCLESTATE') {
      throw new InvalidParameterError('sortBy must be TIMECREATED or LIFECYCLESTATE.');
    }
    return this.store.topics.listTopics({
      tenancyId,
      compartmentId,
      id: input.id,
      name: input.name,
      lifecycleState,
      sortBy,
      sortOrder: parseSortOrder(input.sortOrder),
      offset: input.offset,
      limit: input.limit,
    });
  }

  async update(caller: Principal, id: string, input: UpdateTopicInput, ifMatch?: string): Promise<Topic> {
    await this.authorized(caller, 'UpdateTopic', id);
    const { tenancyId } = caller;
    const description = input.description === undefined ? undefined : checkLength(input.description, 'description', 400);
    const freeformTags = input.freeformTags === undefined ? undefined : checkFreeformTags(input.freeformTags);
    const definedTags = input.definedTags === undefined ? undefined : checkDefinedTags(input.definedTags);
    return this.mutate(tenancyId, id, ifMatch, (cur) => ({
      ...cur,
      description: description ?? cur.description,
      freeformTags: freeformTags ?? cur.freeformTags,
      definedTags: definedTags ?? cur.definedTags,
    }));
  }

  /** Moving needs the right in both the source and the destination compartment, as in OCI. */
  async changeCompartment(caller: Principal, id: string, compartmentId: string | undefined, ifMatch?: string, retryToken?: string): Promise<void> {
    await moveToCompartment({ store: this.store, authz: this.authz, now: this.now }, {
      caller,
      compartmentId,
      retryToken,
      op: 'ChangeTopicCompartment',
      retryOperation: `changeTopicCompartment:${id}`,
      authorizeSource: () => this.authorized(caller, 'ChangeTopicCompartment', id),
      move: (target) => this.mutate(caller.tenancyId, id, ifMatch, (cur) => ({ ...cur, compartmentId: target })),
    });
  }

  async delete(caller: Principal, id: string, ifMatch?: string): Promise<void> {
    const { tenancyId } = caller;
    const current = await this.authorized(caller, 'DeleteTopic', id);
    await guardedDelete({
      what: 'Topic',
      id,
      ifMatch,
      current,
      remove: (etag) => this.store.topics.deleteTopic(tenancyId, id, etag, this.now()),
    });
    // Its subscriptions went with it: their held deliveries go back to the queue, to be cancelled.
    await this.store.deliveryControl.releaseHeldOf({ topicId: id }, this.now());
  }

  private async load(tenancyId: string, id: string): Promise<Topic> {
    const topic = await this.store.topics.getTopic(tenancyId, id);
    if (topic === undefined) throw new NotFoundError('Topic', id);
    return topic;
  }

  /** Only an ACTIVE topic is written; the etag loop itself is casUpdate's. */
  private async mutate(tenancyId: string, id: string, ifMatch: string | undefined, change: (cur: Topic) => Topic): Promise<Topic> {
    return casUpdate({
      what: 'Topic',
      id,
      ifMatch,
      load: () => this.load(tenancyId, id),
      check: activeOnly('Topic', id),
      change: (cur) => ({ ...change(cur), updatedAt: this.now() }),
      replace: (next, etag) => this.store.topics.replaceTopic(next, etag),
    });
  }
}
