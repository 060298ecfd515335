import { z } from 'zod';
import { definedTagsSchema, tagsSchema } from './topics.js';
import type { Application, FnFunction, FunctionCallRecord } from '../../core/function-models.js';

/** OCI Functions wire models, field for field as the oci-functions SDK's model/*.d.ts. */

const configSchema = z.record(z.string(), z.string());

export const createApplicationDetails = z.object({
  compartmentId: z.string(),
  displayName: z.string(),
  config: configSchema.optional(),
  subnetIds: z.array(z.string()).optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const updateApplicationDetails = z.object({
  config: configSchema.optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const changeApplicationCompartmentDetails = z.object({ compartmentId: z.string() });

export const createFunctionDetails = z.object({
  displayName: z.string(),
  applicationId: z.string(),
  image: z.string().optional(),
  imageDigest: z.string().optional(),
  sourceDetails: z.unknown().optional(),
  memoryInMBs: z.number().optional(),
  config: configSchema.optional(),
  timeoutInSeconds: z.number().optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const updateFunctionDetails = z.object({
  image: z.string().optional(),
  imageDigest: z.string().optional(),
  memoryInMBs: z.number().optional(),
  config: configSchema.optional(),
  timeoutInSeconds: z.number().optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** ApplicationSummary: Application without config and syslogUrl. */
export function toApplicationSummary(a: Application): Record<string, unknown> {
  return {
    id: a.id,
    compartmentId: a.compartmentId,
    displayName: a.displayName,
    lifecycleState: a.lifecycleState,
    subnetIds: a.subnetIds,
    shape: 'GENERIC_X86',
    networkSecurityGroupIds: [],
    freeformTags: a.freeformTags,
    definedTags: a.definedTags,
    timeCreated: iso(a.createdAt),
    timeUpdated: iso(a.updatedAt),
  };
}

export function toApplicationWire(a: Application): Record<string, unknown> {
  return { ...toApplicationSummary(a), config: a.config };
}

/**
 * FunctionSummary. invokeEndpoint is Herald's bare origin: the SDK appends
 * /20181201 itself, so `invokeClient.endpoint = fn.invokeEndpoint` just works.
 */
export function toFunctionSummary(f: FnFunction, invokeEndpoint: string): Record<string, unknown> {
  return {
    id: f.id,
    displayName: f.displayName,
    applicationId: f.applicationId,
    compartmentId: f.compartmentId,
    lifecycleState: f.lifecycleState,
    image: f.image,
    imageDigest: f.imageDigest,
    shape: 'GENERIC_X86',
    memoryInMBs: f.memoryInMBs,
    timeoutInSeconds: f.timeoutInSeconds,
    provisionedConcurrencyConfig: { strategy: 'NONE' },
    freeformTags: f.freeformTags,
    invokeEndpoint,
    definedTags: f.definedTags,
    timeCreated: iso(f.createdAt),
    timeUpdated: iso(f.updatedAt),
  };
}

export function toFunctionWire(f: FnFunction, invokeEndpoint: string): Record<string, unknown> {
  return { ...toFunctionSummary(f, invokeEndpoint), config: f.config };
}

/** Herald's own call-log shape (GET /herald/v1/functions/{id}/logs). */
export function toCallWire(c: FunctionCallRecord): Record<string, unknown> {
  return { callId: c.callId, timeStarted: iso(c.startedAt), durationMs: c.durationMs, status: c.status, logs: c.logs };
}
