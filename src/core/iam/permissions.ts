/**
 * Policy verbs and resource types, and the permissions each pair grants
 * (../shared/reference/oci-identity.md §5). Pure data: the parser expands a
 * `verb resource-type` grant once, and the authorizer only ever asks "does this
 * set contain the permission the operation needs" (src/core/iam/operations.ts).
 */
import { OPERATIONS } from './operations.js';

/** Least to most powerful; each verb includes every permission of the ones before it. */
export const VERBS = ['inspect', 'read', 'use', 'manage'] as const;
export type Verb = (typeof VERBS)[number];

export const RESOURCE_TYPES = [
  'ons-topics',
  'ons-subscriptions',
  'ons-family',
  'fn-app',
  'fn-function',
  'fn-invocation',
  'functions-family',
  'compartments',
  'users',
  'groups',
  'policies',
  'tenancies',
  'all-resources',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** The types that have their own table rows; families and all-resources are unions of these. */
type BaseType = Exclude<ResourceType, 'ons-family' | 'functions-family' | 'all-resources'>;

/**
 * What each verb adds to the one before it, per base type. A row left empty is
 * a `–` in the reference: that verb adds nothing over the previous one.
 */
const ADDED: Readonly<Record<BaseType, Readonly<Record<Verb, readonly string[]>>>> = {
  'ons-topics': {
    inspect: ['ONS_TOPIC_INSPECT'],
    read: ['ONS_TOPIC_READ'],
    use: ['ONS_TOPIC_PUBLISH', 'ONS_TOPIC_SUBSCRIBE'],
    manage: ['ONS_TOPIC_CREATE', 'ONS_TOPIC_MOVE', 'ONS_TOPIC_UPDATE', 'ONS_TOPIC_DELETE'],
  },
  'ons-subscriptions': {
    inspect: ['ONS_SUBSCRIPTION_INSPECT'],
    read: [],
    use: [],
    // The subscription calls check ONS_TOPIC_SUBSCRIBE, so managing subscriptions must carry it.
    manage: ['ONS_SUBSCRIPTION_MOVE', 'ONS_TOPIC_SUBSCRIBE'],
  },
  'fn-app': {
    inspect: ['FN_APP_LIST'],
    read: ['FN_APP_READ'],
    use: [],
    manage: ['FN_APP_CREATE', 'FN_APP_DELETE', 'FN_APP_UPDATE'],
  },
  'fn-function': {
    inspect: ['FN_FUNCTION_LIST'],
    read: ['FN_FUNCTION_READ'],
    use: [],
    manage: ['FN_FUNCTION_CREATE', 'FN_FUNCTION_DELETE', 'FN_FUNCTION_UPDATE'],
  },
  // Invoking is its own type so that building functions (manage fn-app + fn-function) does not imply running them.
  'fn-invocation': { inspect: [], read: [], use: ['FN_INVOCATION'], manage: [] },
  compartments: {
    inspect: ['COMPARTMENT_INSPECT'],
    read: [],
    use: ['COMPARTMENT_UPDATE'],
    manage: ['COMPARTMENT_CREATE', 'COMPARTMENT_DELETE', 'COMPARTMENT_RECOVER'],
  },
  users: {
    inspect: ['USER_INSPECT'],
    read: ['USER_READ'],
    use: ['USER_UPDATE'],
    // API keys and console passwords are credentials: changing them is as strong as creating the user.
    manage: ['USER_CREATE', 'USER_DELETE', 'USER_APIKEY_ADD', 'USER_APIKEY_REMOVE', 'USER_UIPASS_SET'],
  },
  groups: {
    inspect: ['GROUP_INSPECT'],
    read: [],
    use: ['GROUP_UPDATE'],
    manage: ['GROUP_CREATE', 'GROUP_DELETE'],
  },
  // OCI's inspect on policies is POLICY_READ: listing policies returns their statements.
  // UpdatePolicy acts like a create, so it needs manage, not use.
  policies: { inspect: ['POLICY_READ'], read: [], use: [], manage: ['POLICY_CREATE', 'POLICY_UPDATE', 'POLICY_DELETE'] },
  tenancies: { inspect: ['TENANCY_INSPECT'], read: [], use: [], manage: ['TENANCY_UPDATE'] },
};

const BASE_TYPES = Object.keys(ADDED) as BaseType[];

const MEMBERS: Readonly<Record<ResourceType, readonly BaseType[]>> = {
  ...(Object.fromEntries(BASE_TYPES.map((t) => [t, [t]])) as Record<BaseType, BaseType[]>),
  'ons-family': ['ons-topics', 'ons-subscriptions'],
  'functions-family': ['fn-app', 'fn-function', 'fn-invocation'],
  'all-resources': BASE_TYPES,
};

function expand(verb: Verb, type: ResourceType): ReadonlySet<string> {
  const out = new Set<string>();
  const upTo = VERBS.indexOf(verb);
  for (const member of MEMBERS[type]) {
    for (const v of VERBS.slice(0, upTo + 1)) for (const p of ADDED[member][v]) out.add(p);
  }
  return out;
}

/** Built once: policies are evaluated on every request, and the sets are never mutated. */
const TABLE: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  VERBS.flatMap((v) => RESOURCE_TYPES.map((t) => [`${v} ${t}`, expand(v, t)] as const)),
);

/** Every permission `verb resourceType` grants, including those of the weaker verbs. */
export function permissionsFor(verb: Verb, resourceType: ResourceType): ReadonlySet<string> {
  const set = TABLE.get(`${verb} ${resourceType}`);
  if (set === undefined) throw new Error(`Unknown verb or resource type: ${verb} ${resourceType}`);
  return set;
}

/**
 * Every permission name Herald knows, for validating `{PERM_A, PERM_B}` grants.
 * Includes the operations' permissions too, so a permission an operation checks
 * can always be granted directly even if no verb table lists it.
 */
export const ALL_PERMISSIONS: ReadonlySet<string> = new Set([
  ...permissionsFor('manage', 'all-resources'),
  ...Object.values(OPERATIONS).flat(),
]);

export function isVerb(word: string): word is Verb {
  return (VERBS as readonly string[]).includes(word);
}

export function isResourceType(word: string): word is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(word);
}
