import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newEtag, newMessageId, newOcid, newShortId, sha256b64url } from '../../src/core/ids.js';
import type { ApiKey, Compartment, Message, Subscription, Tenancy, Topic, User } from '../../src/core/models.js';
import { HEALTHY } from '../../src/core/models.js';
import type { Store } from '../../src/store/store.js';
import { Authorizer } from '../../src/core/iam/authorizer.js';
import { seedAdministrators } from '../../src/core/iam/bootstrap.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { withPg } from '../helpers/pg.js';
import type { TestStore } from '../helpers/stores.js';

/** Domain records for store tests: valid by default, any field overridable. */

export const T0 = 1_700_000_000_000;

export interface TenancyFixture {
  tenancy: Tenancy;
  user: User;
  key: ApiKey;
}

export function tenancyFixture(name = 'acme', createdAt = T0): TenancyFixture {
  const tenancy: Tenancy = { id: newOcid('tenancy'), name, createdAt };
  const user: User = {
    id: newOcid('user'),
    tenancyId: tenancy.id,
    name: 'admin',
    description: '',
    email: null,
    lifecycleState: 'ACTIVE',
    etag: newEtag(),
    freeformTags: {},
    definedTags: {},
    createdAt,
  };
  const key: ApiKey = {
    tenancyId: tenancy.id,
    userId: user.id,
    fingerprint: 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99',
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMII...\n-----END PUBLIC KEY-----\n',
    createdAt,
  };
  return { tenancy, user, key };
}

export async function seedTenancy(store: Store, name = 'acme'): Promise<TenancyFixture> {
  const f = tenancyFixture(name);
  await store.directory.createTenancy(f.tenancy, f.user, f.key);
  return f;
}

/**
 * A tenancy as Herald bootstraps one: its admin user in the Administrators group, whose
 * policy lets it manage everything; with an authorizer over the store and the admin as caller.
 */
export async function seedAdminTenancy(store: Store, name = 'acme'): Promise<TenancyFixture & { admin: Principal; authz: Authorizer }> {
  const f = await seedTenancy(store, name);
  await seedAdministrators(store, f.tenancy.id, T0);
  return { ...f, admin: { tenancyId: f.tenancy.id, userId: f.user.id }, authz: new Authorizer(store.identity) };
}

export function compartmentFixture(tenancyId: string, over: Partial<Compartment> = {}): Compartment {
  return {
    id: newOcid('compartment'),
    tenancyId,
    parentId: tenancyId,
    name: 'dev',
    description: 'development',
    lifecycleState: 'ACTIVE',
    etag: newEtag(),
    freeformTags: {},
    definedTags: {},
    createdAt: T0,
    ...over,
  };
}

export function topicFixture(tenancyId: string, over: Partial<Topic> = {}): Topic {
  return {
    id: newOcid('onstopic'),
    tenancyId,
    compartmentId: tenancyId,
    name: `topic-${newShortId()}`,
    shortId: newShortId(),
    description: 'a topic',
    freeformTags: { team: 'core', env: 'test' },
    definedTags: { ns: { k: 'v', n: 1 } },
    lifecycleState: 'ACTIVE',
    etag: newEtag(),
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function subscriptionFixture(topic: Topic, over: Partial<Subscription> = {}): Subscription {
  return {
    id: newOcid('onssubscription'),
    tenancyId: topic.tenancyId,
    compartmentId: topic.compartmentId,
    topicId: topic.id,
    protocol: 'HTTPS',
    endpoint: 'https://example.com/hook',
    metadata: null,
    lifecycleState: 'PENDING',
    etag: newEtag(),
    createdAt: T0,
    updatedAt: T0,
    maxRetryDurationMs: 7_200_000,
    freeformTags: {},
    definedTags: {},
    confirmationTokenHash: sha256b64url('confirm'),
    confirmationExpiresAt: T0 + 86_400_000,
    confirmationNonce: 1,
    unsubscribeTokenHash: sha256b64url('unsubscribe'),
    activatedAt: null,
    deletedAt: null,
    filterPolicy: null,
    rateLimitPerSecond: null,
    health: { ...HEALTHY },
    ...over,
  };
}

/** A tenancy, a topic in it and `n` ACTIVE subscriptions to it. */
export async function topicWithSubscribers(store: Store, n: number): Promise<Topic> {
  const tenancyId = (await seedTenancy(store)).tenancy.id;
  const topic = topicFixture(tenancyId);
  await store.topics.insertTopic(topic);
  for (let i = 0; i < n; i++) await store.subscriptions.insertSubscription(subscriptionFixture(topic, { lifecycleState: 'ACTIVE', activatedAt: T0 }));
  return topic;
}

export function messageFixture(topic: Topic, over: Partial<Message> = {}): Message {
  return {
    id: newMessageId(),
    tenancyId: topic.tenancyId,
    topicId: topic.id,
    title: 'hello',
    body: 'world',
    messageType: 'RAW_TEXT',
    publishedAt: T0,
    traceParent: null,
    ...over,
  };
}

/** Reads a row behind the port's back, to see what the port deliberately hides (DELETED rows). */
export async function rawRow(t: TestStore, table: string, id: string): Promise<Record<string, unknown> | undefined> {
  if (t.kind === 'sqlite') {
    const db = new Database(join(t.dataDir, 'herald.db'), { readonly: true });
    try {
      return db.prepare<[string], Record<string, unknown>>(`SELECT * FROM ${table} WHERE id = ?`).get(id);
    } finally {
      db.close();
    }
  }
  return withPg(t.schema, async (c) => (await c.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0]);
}

/** Byte-order comparison, the order both backends use for ids. */
export const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
