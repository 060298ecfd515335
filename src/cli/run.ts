import { HeraldClient } from './client.js';
import { notFoundError } from './errors.js';
import { clientOptions } from './options.js';

/**
 * Runs a client command: connects from the shared options. Errors go up to
 * main.ts's exitWithError; only a bare ENOENT is translated here, as it is
 * most likely the config file (commands reading files of their own report
 * those themselves, so they do not get this hint).
 */
export async function withClient(opts: Record<string, unknown>, fn: (client: HeraldClient, format: string) => Promise<void>): Promise<void> {
  try {
    const client = await HeraldClient.fromConfig(clientOptions(opts));
    await fn(client, String(opts.output));
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'ENOENT') {
      throw notFoundError(`${err.message} (is --config-file right? Herald writes one to <data-dir>/oci/config on first start)`);
    }
    throw err;
  }
}
