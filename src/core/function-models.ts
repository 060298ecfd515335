import type { DefinedTags, Tags } from './models.js';

/** Domain records of OCI Functions as Herald keeps them. Wire shapes live in src/api/wire/functions.ts. */

/** The SDK's lifecycle states. Herald creates resources ACTIVE straight away and deletes to DELETED. */
export const FN_STATES = ['CREATING', 'ACTIVE', 'INACTIVE', 'UPDATING', 'DELETING', 'DELETED', 'FAILED'] as const;
export type FnLifecycleState = (typeof FN_STATES)[number];

/** Function configuration: environment variables handed to the function process. */
export type FnConfig = Record<string, string>;

export interface Application {
  id: string;
  tenancyId: string;
  compartmentId: string;
  displayName: string;
  lifecycleState: FnLifecycleState;
  config: FnConfig;
  /** Kept only because the SDK requires it on create; Herald has no VCN. */
  subnetIds: string[];
  freeformTags: Tags;
  definedTags: DefinedTags;
  etag: string;
  createdAt: number;
  updatedAt: number;
}

export interface FnFunction {
  id: string;
  tenancyId: string;
  /** Always the application's compartment (kept in step on changeCompartment). */
  compartmentId: string;
  applicationId: string;
  displayName: string;
  /** As the client gave it, e.g. `herald/bundle@sha256:<hex>`. */
  image: string;
  /** `sha256:<hex>`: the stored bundle the function runs. */
  imageDigest: string;
  memoryInMBs: number;
  timeoutInSeconds: number;
  config: FnConfig;
  lifecycleState: FnLifecycleState;
  freeformTags: Tags;
  definedTags: DefinedTags;
  etag: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * A content-addressed .tar.gz of a function folder (with its func.yaml at the root). The bytes are
 * stored once per digest; which tenancies uploaded them (and so may use them) is kept beside them.
 */
export interface FunctionBundle {
  /** `sha256:<hex>` of bytes. */
  digest: string;
  bytes: Buffer;
  size: number;
  createdAt: number;
}

/** One invocation, as the runtime records it for `herald fn logs`. */
export interface FunctionCallRecord {
  functionId: string;
  callId: string;
  startedAt: number;
  durationMs: number;
  /** Fn's vocabulary: 'success', 'error', 'timeout' (free text so the runtime can add more). */
  status: string;
  /** The call's captured stdout/stderr, truncated by the runtime. */
  logs: string;
}
