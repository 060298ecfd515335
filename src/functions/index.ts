// Public surface of the Docker-free Fn runtime; the HTTP API and store build on these.
export { FunctionRuntime, specFingerprint, type FunctionRuntimeOptions } from './runtime.js';
export { DEFAULT_POOL_OPTIONS, FunctionPool, type PoolStats } from './pool.js';
export { parseFuncYaml, defaultEntrypoint, type FuncYaml } from './func-yaml.js';
export { splitCommand } from './launch.js';
export {
  type CallLogRecord,
  type FunctionSpec,
  type InvokeErrorKind,
  type InvokeOptions,
  type InvokeRequest,
  type InvokeResult,
  type PoolOptions,
} from './types.js';
