/**
 * Every tenancy starts as OCI's do: a group `Administrators` holding the admin
 * user, and a root policy letting that group manage everything. Seeding runs at
 * bootstrap and at every start (for installations made before IAM existed); each
 * step finds what an earlier or concurrent run made, and a setting records the
 * end, so a tenancy whose operator later edits or deletes these is left alone.
 */
import { ConflictError } from '../errors.js';
import { newEtag, newOcid } from '../ids.js';
import type { Ports } from '../ports/index.js';
import type { Group, Policy } from './models.js';

export const ADMINISTRATORS_GROUP = 'Administrators';
export const ADMIN_POLICY_NAME = 'Tenant-Admin-Policy';
export const ADMIN_STATEMENT = 'ALLOW GROUP Administrators to manage all-resources IN TENANCY';
/** The user bootstrap creates; pre-IAM installations had only this one. */
const ADMIN_USER_NAME = 'admin';

export type SeedStore = Pick<Ports, 'identity' | 'settings'>;

const seededKey = (tenancyId: string): string => `iam.seeded.${tenancyId}`;

async function liveByName<T>(list: () => Promise<{ items: T[] }>): Promise<T | undefined> {
  return (await list()).items[0];
}

export async function seedAdministrators(store: SeedStore, tenancyId: string, now: number): Promise<void> {
  if ((await store.settings.getSetting(seededKey(tenancyId))) !== undefined) return;
  const id = store.identity;
  const q = { tenancyId, lifecycleState: 'ACTIVE' as const, sortBy: 'TIMECREATED' as const, sortOrder: 'ASC' as const, offset: 0, limit: 1 };
  const findGroup = () => liveByName(() => id.listGroups({ ...q, name: ADMINISTRATORS_GROUP }));
  let group = await findGroup();
  if (group === undefined) {
    const g: Group = {
      id: newOcid('group'),
      tenancyId,
      name: ADMINISTRATORS_GROUP,
      description: 'Tenancy administrators: may manage every resource of the tenancy',
      lifecycleState: 'ACTIVE',
      etag: newEtag(),
      freeformTags: {},
      definedTags: {},
      createdAt: now,
    };
    try {
      await id.insertGroup(g);
      group = g;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      group = await findGroup();
      if (group === undefined) throw err;
    }
  }
  const admin = await liveByName(() => id.listUsers({ ...q, name: ADMIN_USER_NAME }));
  if (admin !== undefined) {
    await id.insertMembership({ id: newOcid('groupmembership'), tenancyId, userId: admin.id, groupId: group.id, lifecycleState: 'ACTIVE', createdAt: now });
  }
  const findPolicy = () => liveByName(() => id.listPolicies({ ...q, compartmentId: tenancyId, name: ADMIN_POLICY_NAME }));
  if ((await findPolicy()) === undefined) {
    const p: Policy = {
      id: newOcid('policy'),
      tenancyId,
      compartmentId: tenancyId,
      name: ADMIN_POLICY_NAME,
      description: 'Lets the Administrators group manage every resource of the tenancy',
      statements: [ADMIN_STATEMENT],
      versionDate: null,
      lifecycleState: 'ACTIVE',
      etag: newEtag(),
      freeformTags: {},
      definedTags: {},
      createdAt: now,
    };
    try {
      await id.insertPolicy(p);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  await store.settings.putSettingIfAbsent(seededKey(tenancyId), String(now));
}

/** Seeds every tenancy not yet seeded (startup of an installation made before IAM). */
export async function seedAllTenancies(store: SeedStore, now: number): Promise<void> {
  for (const tenancyId of await store.identity.listTenancyIds()) await seedAdministrators(store, tenancyId, now);
}
