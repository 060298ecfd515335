import { z } from 'zod';
import type { ApiKey, Compartment, Tenancy, User } from '../../core/models.js';
import type { Group, Membership, Policy } from '../../core/iam/models.js';
import { definedTagsSchema, tagsSchema } from './topics.js';

/** OCI Identity's wire models (oci-identity 2.139.1 lib/model). Dates are RFC 3339 with milliseconds. */

const iso = (ms: number): string => new Date(ms).toISOString();
const tags = { freeformTags: tagsSchema.optional(), definedTags: definedTagsSchema.optional() };

export const createCompartmentDetails = z.object({ compartmentId: z.string(), name: z.string(), description: z.string(), ...tags });
export const updateCompartmentDetails = z.object({ name: z.string().optional(), description: z.string().optional(), ...tags });
export const createUserDetails = z.object({
  compartmentId: z.string(),
  name: z.string(),
  description: z.string(),
  email: z.string().optional(),
  ...tags,
});
export const updateUserDetails = z.object({
  description: z.string().optional(),
  email: z.string().optional(),
  dbUserName: z.string().optional(),
  ...tags,
});
export const createGroupDetails = z.object({ compartmentId: z.string(), name: z.string(), description: z.string(), ...tags });
export const updateGroupDetails = z.object({ description: z.string().optional(), ...tags });
export const addUserToGroupDetails = z.object({ userId: z.string(), groupId: z.string() });
export const createApiKeyDetails = z.object({ key: z.string() });
export const createPolicyDetails = z.object({
  compartmentId: z.string(),
  name: z.string(),
  description: z.string(),
  statements: z.array(z.string()),
  versionDate: z.string().nullable().optional(),
  ...tags,
});
export const updatePolicyDetails = z.object({
  description: z.string().optional(),
  statements: z.array(z.string()).optional(),
  versionDate: z.string().nullable().optional(),
  ...tags,
});

export function toCompartment(c: Compartment): Record<string, unknown> {
  return {
    id: c.id,
    // The root's compartmentId is itself, as OCI shows the tenancy.
    compartmentId: c.parentId ?? c.id,
    name: c.name,
    description: c.description,
    timeCreated: iso(c.createdAt),
    lifecycleState: c.lifecycleState,
    isAccessible: true,
    freeformTags: c.freeformTags,
    definedTags: c.definedTags,
  };
}

export function toUser(u: User): Record<string, unknown> {
  return {
    id: u.id,
    compartmentId: u.tenancyId,
    name: u.name,
    description: u.description,
    email: u.email ?? undefined,
    emailVerified: false,
    timeCreated: iso(u.createdAt),
    lifecycleState: u.lifecycleState,
    isMfaActivated: false,
    capabilities: {
      canUseConsolePassword: true,
      canUseApiKeys: true,
      canUseAuthTokens: false,
      canUseSmtpCredentials: false,
      canUseCustomerSecretKeys: false,
      canUseOAuth2ClientCredentials: false,
      canUseDbCredentials: false,
    },
    freeformTags: u.freeformTags,
    definedTags: u.definedTags,
  };
}

export function toGroup(g: Group): Record<string, unknown> {
  return {
    id: g.id,
    compartmentId: g.tenancyId,
    name: g.name,
    description: g.description,
    timeCreated: iso(g.createdAt),
    lifecycleState: g.lifecycleState,
    freeformTags: g.freeformTags,
    definedTags: g.definedTags,
  };
}

export function toMembership(m: Membership): Record<string, unknown> {
  return {
    id: m.id,
    compartmentId: m.tenancyId,
    groupId: m.groupId,
    userId: m.userId,
    timeCreated: iso(m.createdAt),
    lifecycleState: m.lifecycleState,
  };
}

export function toApiKey(k: ApiKey): Record<string, unknown> {
  return {
    keyId: `${k.tenancyId}/${k.userId}/${k.fingerprint}`,
    keyValue: k.publicKeyPem,
    fingerprint: k.fingerprint,
    userId: k.userId,
    timeCreated: iso(k.createdAt),
    lifecycleState: 'ACTIVE',
  };
}

export function toPolicy(p: Policy): Record<string, unknown> {
  return {
    id: p.id,
    compartmentId: p.compartmentId,
    name: p.name,
    statements: p.statements,
    description: p.description,
    timeCreated: iso(p.createdAt),
    lifecycleState: p.lifecycleState,
    versionDate: p.versionDate ?? undefined,
    freeformTags: p.freeformTags,
    definedTags: p.definedTags,
  };
}

export function toTenancy(t: Tenancy): Record<string, unknown> {
  return { id: t.id, name: t.name, description: t.name, homeRegionKey: 'IAD', freeformTags: {}, definedTags: {} };
}
