import type { Command } from 'commander';
import { ConfigError, resolveConfig } from '../config/config.js';
import { usageError } from './errors.js';

/** Where the store of an installation is, as `serve` resolves it. */
export interface StoreLocation {
  readonly dataDir: string;
  /** 'sqlite' (herald.db in dataDir) or a postgres:// URL. */
  readonly store: string;
}

/** The options that name a store, spelled as `serve` spells them, for commands that open it directly. */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'where state lives (env HERALD_DATA_DIR, default ~/.herald)')
    .option('--store <spec>', '"sqlite" (default, in the data dir) or a postgres:// URL (env HERALD_STORE)')
    .option('--config <file>', 'a YAML config file, as `serve` reads it (env HERALD_CONFIG)');
}

/**
 * Resolves the store exactly as `serve` does (flag, environment, config file, default), so a command run beside
 * the server finds the same database. A setting `serve` would refuse is a usage error here too.
 */
export function storeLocation(flags: { dataDir?: string; store?: string; config?: string }): StoreLocation {
  try {
    const config = resolveConfig({ dataDir: flags.dataDir, store: flags.store, config: flags.config });
    return { dataDir: config.dataDir, store: config.store };
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}
