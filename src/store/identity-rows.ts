import type { AccessSnapshotRows, Group, Membership, Policy } from '../core/iam/models.js';
import type { DefinedTags, IamState, Tags } from '../core/models.js';
import { json, num, str, strOrNull, type Row, type SqlValue } from './rows.js';

/** Row <-> domain mapping for the IAM tables, shared by both backends. */

export const GROUP_COLUMNS = [
  'id',
  'tenancy_id',
  'name',
  'description',
  'lifecycle_state',
  'etag',
  'freeform_tags',
  'defined_tags',
  'created_at',
] as const;
export const groupValues = (g: Group): SqlValue[] => [
  g.id,
  g.tenancyId,
  g.name,
  g.description,
  g.lifecycleState,
  g.etag,
  JSON.stringify(g.freeformTags),
  JSON.stringify(g.definedTags),
  g.createdAt,
];
export const toGroup = (r: Row): Group => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  name: str(r.name),
  description: str(r.description),
  lifecycleState: str(r.lifecycle_state) as IamState,
  etag: str(r.etag),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  createdAt: num(r.created_at),
});

export const MEMBERSHIP_COLUMNS = ['id', 'tenancy_id', 'user_id', 'group_id', 'lifecycle_state', 'created_at'] as const;
export const membershipValues = (m: Membership): SqlValue[] => [
  m.id,
  m.tenancyId,
  m.userId,
  m.groupId,
  m.lifecycleState,
  m.createdAt,
];
export const toMembership = (r: Row): Membership => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  userId: str(r.user_id),
  groupId: str(r.group_id),
  lifecycleState: str(r.lifecycle_state) as IamState,
  createdAt: num(r.created_at),
});

export const POLICY_COLUMNS = [
  'id',
  'tenancy_id',
  'compartment_id',
  'name',
  'description',
  'statements',
  'version_date',
  'lifecycle_state',
  'etag',
  'freeform_tags',
  'defined_tags',
  'created_at',
] as const;
export const policyValues = (p: Policy): SqlValue[] => [
  p.id,
  p.tenancyId,
  p.compartmentId,
  p.name,
  p.description,
  JSON.stringify(p.statements),
  p.versionDate,
  p.lifecycleState,
  p.etag,
  JSON.stringify(p.freeformTags),
  JSON.stringify(p.definedTags),
  p.createdAt,
];
export const toPolicy = (r: Row): Policy => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  compartmentId: str(r.compartment_id),
  name: str(r.name),
  description: str(r.description),
  statements: json<string[]>(r.statements),
  versionDate: strOrNull(r.version_date),
  lifecycleState: str(r.lifecycle_state) as IamState,
  etag: str(r.etag),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  createdAt: num(r.created_at),
});

/** The snapshot's five result sets, in the order IAM_SQL.snapshot lists their queries. */
export function toAccessSnapshot([compartments, users, groups, memberships, policies]: Row[][]): AccessSnapshotRows {
  return {
    compartments: (compartments ?? []).map((r) => ({ id: str(r.id), parentId: strOrNull(r.parent_id), name: str(r.name) })),
    users: (users ?? []).map((r) => ({ id: str(r.id), name: str(r.name) })),
    groups: (groups ?? []).map((r) => ({ id: str(r.id), name: str(r.name) })),
    memberships: (memberships ?? []).map((r) => ({ userId: str(r.user_id), groupId: str(r.group_id) })),
    policies: (policies ?? []).map((r) => ({
      id: str(r.id),
      compartmentId: str(r.compartment_id),
      name: str(r.name),
      statements: json<string[]>(r.statements),
    })),
  };
}

const CONTENT_NOUNS = [
  ['compartments', 'compartment', 'compartments'],
  ['topics', 'topic', 'topics'],
  ['subscriptions', 'subscription', 'subscriptions'],
  ['applications', 'application', 'applications'],
  ['functions', 'function', 'functions'],
  ['policies', 'policy', 'policies'],
] as const;

/**
 * What still lives in a compartment (a row of IAM_SQL.compartmentContents), as a
 * GuardedDelete detail such as "it still holds 2 topics and 1 policy"; undefined when empty.
 */
export function compartmentContentsDetail(r: Row): string | undefined {
  const parts: string[] = [];
  for (const [column, one, many] of CONTENT_NOUNS) {
    const n = num(r[column] ?? 0);
    if (n > 0) parts.push(`${n} ${n === 1 ? one : many}`);
  }
  if (parts.length === 0) return undefined;
  const last = parts.pop();
  return `it still holds ${parts.length > 0 ? `${parts.join(', ')} and ${last}` : last}`;
}
