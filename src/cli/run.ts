import { ApiError, HeraldClient } from './client.js';
import { clientOptions } from './options.js';

/** Runs a client command: connects from the shared options and turns API errors into "CODE: message" and exit 1. */
export async function withClient(opts: Record<string, unknown>, fn: (client: HeraldClient, format: string) => Promise<void>): Promise<void> {
  try {
    const client = await HeraldClient.fromConfig(clientOptions(opts));
    await fn(client, String(opts.output));
  } catch (err) {
    if (err instanceof ApiError) {
      process.stderr.write(`herald: ${err.status} ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'ENOENT') {
      process.stderr.write(`herald: ${err.message} (is --config-file right? Herald writes one to <data-dir>/oci/config on first start)\n`);
      process.exit(1);
    }
    throw err;
  }
}
