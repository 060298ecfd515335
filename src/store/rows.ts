import type {
  ApiKey,
  Compartment,
  CompartmentState,
  DefinedTags,
  IamState,
  Message,
  MessageType,
  RetryTokenRecord,
  Subscription,
  Tags,
  Tenancy,
  Topic,
  TopicState,
  User,
} from '../core/models.js';
import { endpointKeyOf } from '../core/endpoints.js';
import { newEtag } from '../core/ids.js';

/**
 * Row <-> domain mapping shared by both backends: their schemas use the same
 * column names, and both drivers hand rows back as plain objects.
 */
export type Row = Record<string, unknown>;
export type SqlValue = string | number | null | Buffer;

/** pg may hand BIGINT back as a string; SQLite gives numbers. Epoch ms fit a double. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' || typeof v === 'bigint') return Number(v);
  throw new TypeError(`Expected a numeric column, got ${typeof v}`);
}
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const str = (v: unknown): string => String(v);
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export const TENANCY_COLUMNS = ['id', 'name', 'created_at'] as const;
export const tenancyValues = (t: Tenancy): SqlValue[] => [t.id, t.name, t.createdAt];
export const toTenancy = (r: Row): Tenancy => ({ id: str(r.id), name: str(r.name), createdAt: num(r.created_at) });

export const USER_COLUMNS = [
  'id',
  'tenancy_id',
  'name',
  'description',
  'email',
  'lifecycle_state',
  'etag',
  'freeform_tags',
  'defined_tags',
  'created_at',
] as const;
export const userValues = (u: User): SqlValue[] => [
  u.id,
  u.tenancyId,
  u.name,
  u.description,
  u.email,
  u.lifecycleState,
  u.etag,
  JSON.stringify(u.freeformTags),
  JSON.stringify(u.definedTags),
  u.createdAt,
];
export const toUser = (r: Row): User => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  name: str(r.name),
  description: str(r.description),
  email: strOrNull(r.email),
  lifecycleState: str(r.lifecycle_state) as IamState,
  etag: str(r.etag),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  createdAt: num(r.created_at),
});

export const API_KEY_COLUMNS = ['tenancy_id', 'user_id', 'fingerprint', 'public_key_pem', 'created_at'] as const;
export const apiKeyValues = (k: ApiKey): SqlValue[] => [k.tenancyId, k.userId, k.fingerprint, k.publicKeyPem, k.createdAt];
export const toApiKey = (r: Row): ApiKey => ({
  tenancyId: str(r.tenancy_id),
  userId: str(r.user_id),
  fingerprint: str(r.fingerprint),
  publicKeyPem: str(r.public_key_pem),
  createdAt: num(r.created_at),
});

export const COMPARTMENT_COLUMNS = [
  'id',
  'tenancy_id',
  'parent_id',
  'name',
  'description',
  'lifecycle_state',
  'etag',
  'freeform_tags',
  'defined_tags',
  'created_at',
] as const;
export const compartmentValues = (c: Compartment): SqlValue[] => [
  c.id,
  c.tenancyId,
  c.parentId,
  c.name,
  c.description,
  c.lifecycleState,
  c.etag,
  JSON.stringify(c.freeformTags),
  JSON.stringify(c.definedTags),
  c.createdAt,
];
export const toCompartment = (r: Row): Compartment => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  parentId: strOrNull(r.parent_id),
  name: str(r.name),
  description: str(r.description),
  lifecycleState: str(r.lifecycle_state) as CompartmentState,
  etag: str(r.etag),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  createdAt: num(r.created_at),
});

/** The tenancy's root compartment, created with it. */
export const rootCompartment = (t: Tenancy): Compartment => ({
  id: t.id,
  tenancyId: t.id,
  parentId: null,
  name: t.name,
  description: '',
  lifecycleState: 'ACTIVE',
  etag: newEtag(),
  freeformTags: {},
  definedTags: {},
  createdAt: t.createdAt,
});

export const TOPIC_COLUMNS = [
  'id',
  'tenancy_id',
  'compartment_id',
  'name',
  'short_id',
  'description',
  'freeform_tags',
  'defined_tags',
  'lifecycle_state',
  'etag',
  'created_at',
  'updated_at',
] as const;
export const topicValues = (t: Topic): SqlValue[] => [
  t.id,
  t.tenancyId,
  t.compartmentId,
  t.name,
  t.shortId,
  t.description,
  JSON.stringify(t.freeformTags),
  JSON.stringify(t.definedTags),
  t.lifecycleState,
  t.etag,
  t.createdAt,
  t.updatedAt,
];
export const toTopic = (r: Row): Topic => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  compartmentId: str(r.compartment_id),
  name: str(r.name),
  shortId: str(r.short_id),
  description: strOrNull(r.description),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  lifecycleState: str(r.lifecycle_state) as TopicState,
  etag: str(r.etag),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

export const SUBSCRIPTION_COLUMNS = [
  'id',
  'tenancy_id',
  'compartment_id',
  'topic_id',
  'protocol',
  'endpoint',
  'metadata',
  'lifecycle_state',
  'etag',
  'created_at',
  'updated_at',
  'max_retry_duration_ms',
  'freeform_tags',
  'defined_tags',
  'confirmation_token_hash',
  'confirmation_expires_at',
  'confirmation_nonce',
  'unsubscribe_token_hash',
  'activated_at',
  'deleted_at',
  'filter_policy',
  'rate_limit',
  'endpoint_key',
] as const;
export const subscriptionValues = (s: Subscription): SqlValue[] => [
  s.id,
  s.tenancyId,
  s.compartmentId,
  s.topicId,
  s.protocol,
  s.endpoint,
  s.metadata,
  s.lifecycleState,
  s.etag,
  s.createdAt,
  s.updatedAt,
  s.maxRetryDurationMs,
  JSON.stringify(s.freeformTags),
  JSON.stringify(s.definedTags),
  s.confirmationTokenHash,
  s.confirmationExpiresAt,
  s.confirmationNonce,
  s.unsubscribeTokenHash,
  s.activatedAt,
  s.deletedAt,
  s.filterPolicy,
  s.rateLimitPerSecond,
  endpointKeyOf(s.protocol, s.endpoint),
];
export const MESSAGE_COLUMNS = ['id', 'tenancy_id', 'topic_id', 'title', 'body', 'message_type', 'published_at', 'trace_parent'] as const;
export const messageValues = (m: Message): SqlValue[] => [
  m.id,
  m.tenancyId,
  m.topicId,
  m.title,
  m.body,
  m.messageType,
  m.publishedAt,
  m.traceParent,
];
export const toMessage = (r: Row): Message => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  topicId: str(r.topic_id),
  title: strOrNull(r.title),
  body: str(r.body),
  messageType: str(r.message_type) as MessageType,
  publishedAt: num(r.published_at),
  traceParent: strOrNull(r.trace_parent),
});

export const toRetryToken = (r: Row): RetryTokenRecord => ({
  tenancyId: str(r.tenancy_id),
  token: str(r.token),
  operation: str(r.operation),
  requestHash: str(r.request_hash),
  response: strOrNull(r.response),
  createdAt: num(r.created_at),
});
