/** IAM records beside User and Compartment (src/core/models.ts). */
import type { DefinedTags, IamState, Tags } from '../models.js';

export interface Group {
  id: string;
  tenancyId: string;
  /** Unique among the tenancy's live groups; never changes. */
  name: string;
  description: string;
  lifecycleState: IamState;
  etag: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
  createdAt: number;
}

export interface Membership {
  id: string;
  tenancyId: string;
  userId: string;
  groupId: string;
  lifecycleState: IamState;
  createdAt: number;
}

export interface Policy {
  id: string;
  tenancyId: string;
  /** The compartment the policy is attached to; its statements' locations resolve from here. */
  compartmentId: string;
  /** Unique among the tenancy's live policies; never changes. */
  name: string;
  description: string;
  statements: string[];
  /** 'YYYY-MM-DD' or null (evaluate with current behaviour). */
  versionDate: string | null;
  lifecycleState: IamState;
  etag: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
  createdAt: number;
}

/** What the authorizer reads about one tenancy: live rows only. */
export interface AccessSnapshotRows {
  /** Every live compartment including the root (id === tenancyId, parentId null). */
  compartments: { id: string; parentId: string | null; name: string }[];
  users: { id: string; name: string }[];
  groups: { id: string; name: string }[];
  memberships: { userId: string; groupId: string }[];
  policies: { id: string; compartmentId: string; name: string; statements: string[] }[];
}
