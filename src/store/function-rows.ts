import type { Application, FnConfig, FnFunction, FnLifecycleState, FunctionBundle, FunctionCallRecord } from '../core/function-models.js';
import type { DefinedTags, Tags } from '../core/models.js';
import { json, num, str, type Row, type SqlValue } from './rows.js';

/** Row <-> domain mapping for the functions tables, shared by both backends. */

export const APPLICATION_COLUMNS = [
  'id',
  'tenancy_id',
  'compartment_id',
  'display_name',
  'lifecycle_state',
  'config',
  'subnet_ids',
  'freeform_tags',
  'defined_tags',
  'etag',
  'created_at',
  'updated_at',
] as const;
export const applicationValues = (a: Application): SqlValue[] => [
  a.id,
  a.tenancyId,
  a.compartmentId,
  a.displayName,
  a.lifecycleState,
  JSON.stringify(a.config),
  JSON.stringify(a.subnetIds),
  JSON.stringify(a.freeformTags),
  JSON.stringify(a.definedTags),
  a.etag,
  a.createdAt,
  a.updatedAt,
];
export const toApplication = (r: Row): Application => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  compartmentId: str(r.compartment_id),
  displayName: str(r.display_name),
  lifecycleState: str(r.lifecycle_state) as FnLifecycleState,
  config: json<FnConfig>(r.config),
  subnetIds: json<string[]>(r.subnet_ids),
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  etag: str(r.etag),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

export const FUNCTION_COLUMNS = [
  'id',
  'tenancy_id',
  'compartment_id',
  'application_id',
  'display_name',
  'image',
  'image_digest',
  'memory_in_mbs',
  'timeout_in_seconds',
  'config',
  'lifecycle_state',
  'freeform_tags',
  'defined_tags',
  'etag',
  'created_at',
  'updated_at',
] as const;
export const functionValues = (f: FnFunction): SqlValue[] => [
  f.id,
  f.tenancyId,
  f.compartmentId,
  f.applicationId,
  f.displayName,
  f.image,
  f.imageDigest,
  f.memoryInMBs,
  f.timeoutInSeconds,
  JSON.stringify(f.config),
  f.lifecycleState,
  JSON.stringify(f.freeformTags),
  JSON.stringify(f.definedTags),
  f.etag,
  f.createdAt,
  f.updatedAt,
];
export const toFunction = (r: Row): FnFunction => ({
  id: str(r.id),
  tenancyId: str(r.tenancy_id),
  compartmentId: str(r.compartment_id),
  applicationId: str(r.application_id),
  displayName: str(r.display_name),
  image: str(r.image),
  imageDigest: str(r.image_digest),
  memoryInMBs: num(r.memory_in_mbs),
  timeoutInSeconds: num(r.timeout_in_seconds),
  config: json<FnConfig>(r.config),
  lifecycleState: str(r.lifecycle_state) as FnLifecycleState,
  freeformTags: json<Tags>(r.freeform_tags),
  definedTags: json<DefinedTags>(r.defined_tags),
  etag: str(r.etag),
  createdAt: num(r.created_at),
  updatedAt: num(r.updated_at),
});

/** better-sqlite3 returns a Buffer for BLOB and pg one for BYTEA. */
export const toBundle = (r: Row): FunctionBundle => {
  if (!Buffer.isBuffer(r.bytes)) throw new TypeError('Expected the bundle bytes as a Buffer');
  return { digest: str(r.digest), bytes: r.bytes, size: num(r.size), createdAt: num(r.created_at) };
};

export const CALL_COLUMNS = ['function_id', 'call_id', 'started_at', 'duration_ms', 'status', 'logs'] as const;
export const callValues = (c: FunctionCallRecord): SqlValue[] => [c.functionId, c.callId, c.startedAt, c.durationMs, c.status, c.logs];
export const toCall = (r: Row): FunctionCallRecord => ({
  functionId: str(r.function_id),
  callId: str(r.call_id),
  startedAt: num(r.started_at),
  durationMs: num(r.duration_ms),
  status: str(r.status),
  logs: str(r.logs),
});
