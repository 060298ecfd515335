/**
 * Worker threads started from a module of Herald's own: the compiled `.js` beside the caller, or its `.ts` source
 * when the sources run under tsx (tests), whose loader a worker does not inherit. A leaf: the delivery threads and the
 * verify thread both start theirs here.
 */
import { Worker } from 'node:worker_threads';

/** The module `name` beside the module at `metaUrl` (pass `import.meta.url`), with the caller's own extension. */
export function moduleBeside(metaUrl: string, name: string): URL {
  const ext = metaUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, metaUrl);
}

/** Starts a worker running `url` with `workerData`; a `.ts` source has tsx registered in the worker first. */
export function startWorkerModule(url: URL, workerData: unknown): Worker {
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
