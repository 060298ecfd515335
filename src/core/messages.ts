import { InvalidParameterError, NotFoundError, PayloadTooLargeError, TooManyRequestsError } from './errors.js';
import type { PublishPacer } from './publish-pacer.js';
import { newMessageId, ownId } from './ids.js';
import type { PublishOutcome, PublishPlan } from './deliveries.js';
import type { Message, MessageType } from './models.js';
import { checkTopicId } from './topics.js';
import { requireString } from './validation.js';
import type { Ports } from './ports/index.js';
import { ACCESS_SNAPSHOT_TTL_MS, type Authorizer } from './iam/authorizer.js';
import type { Principal } from './iam/principal.js';

const MAX_REMEMBERED_TOPICS = 10_000;

/** OCI's documented per-request limit. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_TITLE_LENGTH = 255;
/** Beyond this many publishes one transaction gets long enough to hurt latency. */
const MAX_GROUP = 512;
/**
 * Two groups at once: while one waits for its fsync (off the event loop), the next
 * commits and queues for the following fsync, so a closed-loop client is never idle.
 */
const MAX_CONCURRENT_GROUPS = 2;

export interface PublishInput {
  title?: string;
  body?: string;
}

/** How a publish is made, beside what is published. */
export interface PublishOptions {
  /** The publish span's W3C traceparent, stored with the message (the API passes it when tracing is on). */
  traceParent?: string | null;
}

export interface PublishResult {
  messageId: string;
  publishedAt: number;
}

/** Told once a group of messages is committed (metrics, the backlog count). */
export type PublishedListener = (messages: readonly Message[], outcome: PublishOutcome) => void;

/**
 * Where a published group goes: the delivery engine, which knows how much it can take on, plans
 * each group's fan-out just before it commits and starts delivering it once it is committed.
 */
export interface Fanout {
  planPublish(now: number): PublishPlan;
  published(messages: readonly Message[], outcome: PublishOutcome): void;
}

/**
 * Refuse publishes (429 + Retry-After) while more than `max` deliveries wait; below that, a pacer may make
 * them wait their turn so that publishing does not starve delivery (see PublishPacer).
 */
export interface Backpressure {
  backlog: () => number;
  max: number;
  pacer?: Pick<PublishPacer, 'admit'>;
}

export interface PublishWiring {
  fanout: Fanout;
  /** Accepting faster than we deliver would grow the queue without bound; absent, nothing is refused. */
  backpressure?: Backpressure;
  /** Also told of every committed group, before the fan-out. */
  listeners?: readonly PublishedListener[];
}

/**
 * Topics with fewer subscriptions than this are fanned out in the publish transaction itself; larger
 * ones are fanned out in batches afterwards. The one definition: the delivery engine's planner uses it too.
 */
export const INLINE_FANOUT = 64;

interface Pending {
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Publishing is acknowledged only after the message is committed. Publishes
 * that arrive in the same event-loop turn (and while a commit is in flight)
 * share one transaction: on this machine that is the difference between ~3k
 * and ~8k durable publishes per second, because fsync is the bound otherwise.
 */
export class MessageService {
  private queue: Pending[] = [];
  /** Groups committing or waiting for their fsync; a second may commit while the first syncs. */
  private flushing = 0;
  private scheduled = false;
  private readonly fanout: Fanout;
  private readonly backpressure: Backpressure | undefined;
  private readonly listeners: readonly PublishedListener[];

  /** Topic id → its compartment, for authorizing publishes without a read each (see topicHome). */
  private readonly homes = new Map<string, { compartmentId: string; at: number }>();

  constructor(
    private readonly store: Pick<Ports, 'messages' | 'publishing' | 'topics'>,
    private readonly authz: Authorizer,
    wiring: PublishWiring,
    private readonly now: () => number = Date.now,
  ) {
    this.fanout = wiring.fanout;
    this.backpressure = wiring.backpressure;
    this.listeners = wiring.listeners ?? [];
  }

  /**
   * Throws TooManyRequests while the undelivered backlog is above the limit; otherwise resolves when the
   * pacer lets the publish through (undefined: at once).
   */
  checkBackpressure(): Promise<void> | undefined {
    this.refuseOverBacklog();
    return this.backpressure?.pacer?.admit();
  }

  /** Throws TooManyRequests while the undelivered backlog is above the limit. */
  private refuseOverBacklog(): void {
    if (this.backpressure !== undefined && this.backpressure.backlog() > this.backpressure.max) {
      throw new TooManyRequestsError(`Herald is behind on deliveries (more than ${this.backpressure.max} waiting); retry shortly.`, 1);
    }
  }

  async publish(
    caller: Principal,
    topicId: string,
    input: PublishInput,
    messageType: string | undefined,
    opts: PublishOptions = {},
  ): Promise<PublishResult> {
    const { tenancyId } = caller;
    checkTopicId(topicId);
    const home = await this.topicHome(tenancyId, topicId);
    await this.authz.require(caller, 'PublishMessage', home, { refusal: () => new NotFoundError('Topic', topicId) });
    const body = requireString(input.body, 'body');
    const title = input.title === undefined || input.title === '' ? null : input.title;
    if (title !== null && title.length > MAX_TITLE_LENGTH) throw new InvalidParameterError(`title must be at most ${MAX_TITLE_LENGTH} characters.`);
    const size = Buffer.byteLength(body, 'utf8') + (title === null ? 0 : Buffer.byteLength(title, 'utf8'));
    if (size > MAX_MESSAGE_BYTES) {
      throw new PayloadTooLargeError(`The message is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes (64 KB).`);
    }
    const type = parseMessageType(messageType, body);
    // The HTTP route already refused before the signature check; this covers every other caller. Not the pacer:
    // the route waited for its turn already, and a second admit() here (its promise not awaited) took a second
    // turn for every paced publish, so publishes went through at half the pace deliveries earned.
    this.refuseOverBacklog();
    // The topic is checked inside the group's transaction: no read of its own per publish.
    const message: Message = {
      id: newMessageId(),
      // Kept in caches long after the request: not slices of its header and URL.
      tenancyId: ownId(tenancyId),
      topicId: ownId(topicId),
      title,
      body,
      messageType: type,
      publishedAt: this.now(),
      traceParent: opts.traceParent ?? null,
    };
    await this.enqueue(message);
    return { messageId: message.id, publishedAt: message.publishedAt };
  }

  /**
   * A message Herald itself publishes (operations events): no caller, so no policy applies, and
   * no backpressure either (an operator must hear of a disabled endpoint most when Herald is behind).
   */
  async publishAsHerald(tenancyId: string, topicId: string, title: string, body: string): Promise<PublishResult> {
    const message: Message = {
      id: newMessageId(),
      tenancyId,
      topicId,
      title: title.slice(0, MAX_TITLE_LENGTH),
      body,
      // RAW_TEXT: OCI's JSON type means per-protocol variants; the body is plain JSON text.
      messageType: 'RAW_TEXT',
      publishedAt: this.now(),
      traceParent: null,
    };
    await this.enqueue(message);
    return { messageId: message.id, publishedAt: message.publishedAt };
  }

  /**
   * The compartment a topic lives in, remembered as long as a policy snapshot is: a topic
   * moved to another compartment is authorized there within that time, as a policy change is.
   */
  private async topicHome(tenancyId: string, topicId: string): Promise<string> {
    const key = `${tenancyId}/${topicId}`;
    const t = this.now();
    const hit = this.homes.get(key);
    if (hit !== undefined && t - hit.at < ACCESS_SNAPSHOT_TTL_MS) return hit.compartmentId;
    const topic = await this.store.topics.getTopic(tenancyId, topicId);
    if (topic === undefined) throw new NotFoundError('Topic', topicId);
    if (this.homes.size >= MAX_REMEMBERED_TOPICS) this.homes.clear();
    this.homes.set(key, { compartmentId: topic.compartmentId, at: t });
    return topic.compartmentId;
  }

  async get(tenancyId: string, id: string): Promise<Message> {
    const m = await this.store.messages.getMessage(tenancyId, id);
    if (m === undefined) throw new NotFoundError('Message', id);
    return m;
  }

  /** Waits for every publish accepted so far to be committed (used on shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing > 0) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private enqueue(message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing >= MAX_CONCURRENT_GROUPS) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing >= MAX_CONCURRENT_GROUPS || this.queue.length === 0) return;
    this.flushing++;
    const group = this.queue.splice(0, MAX_GROUP);
    let handedOn = false;
    // Delivery starts at the commit, not after the fsync that makes the group durable against a power cut: the
    // fsync was most of a quiet server's publish-to-delivery time. A message is still acknowledged only once durable.
    let handOnError: unknown;
    const handOn = (outcome: PublishOutcome): void => {
      handedOn = true;
      const stored = outcome.stored.size === group.length ? group.map((p) => p.message) : group.map((p) => p.message).filter((m) => outcome.stored.has(m.id));
      try {
        for (const l of this.listeners) l(stored, outcome);
        this.fanout.published(stored, outcome);
      } catch (err) {
        // Raised below, once the group's publishes are answered: it must not stop the group becoming durable.
        handOnError = err;
      }
    };
    try {
      const outcome = await this.store.publishing.publishMessages(
        group.map((p) => p.message),
        this.fanout.planPublish(this.now()),
        handOn,
      );
      if (!handedOn) handOn(outcome);
      for (const p of group) {
        if (outcome.stored.has(p.message.id)) p.resolve();
        else p.reject(new NotFoundError('Topic', p.message.topicId));
      }
      if (handOnError !== undefined) throw handOnError;
    } catch (err) {
      for (const p of group) p.reject(err);
    } finally {
      this.flushing--;
      if (this.queue.length > 0) this.schedule();
    }
  }
}

function parseMessageType(raw: string | undefined, body: string): MessageType {
  if (raw === undefined || raw === '') return 'RAW_TEXT';
  const t = raw.toUpperCase();
  if (t === 'RAW_TEXT') return 'RAW_TEXT';
  if (t !== 'JSON') throw new InvalidParameterError('messageType must be JSON or RAW_TEXT.');
  // The deprecated JSON type carries per-protocol variants keyed by protocol, with a required default.
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidParameterError('With messageType JSON the body must be a JSON object.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as Record<string, unknown>).default !== 'string') {
    throw new InvalidParameterError('With messageType JSON the body must be a JSON object with a string "default" key.');
  }
  return 'JSON';
}
