import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ClientOptions } from './client.js';

/** The connection options every client command shares. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'Herald server URL (env HERALD_ENDPOINT)', process.env.HERALD_ENDPOINT ?? 'http://127.0.0.1:8080')
    .option('--config-file <path>', 'OCI config file (env OCI_CLI_CONFIG_FILE)', process.env.OCI_CLI_CONFIG_FILE ?? join(homedir(), '.herald', 'oci', 'config'))
    .option('--profile <name>', 'profile in the config file', 'DEFAULT')
    .option('--output <format>', 'json or table', process.stdout.isTTY ? 'table' : 'json');
}

export function clientOptions(opts: Record<string, unknown>): ClientOptions {
  return { endpoint: String(opts.endpoint), configFile: String(opts.configFile), profile: String(opts.profile) };
}
