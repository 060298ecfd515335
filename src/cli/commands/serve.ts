import type { Command } from 'commander';
import { ConfigError, resolveConfig } from '../../config/config.js';
import { startHerald } from '../../server/herald.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Herald server')
    .option('--port <port>', 'port to listen on (env HERALD_PORT, default 8080)')
    .option('--host <host>', 'address to bind (env HERALD_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where state lives (env HERALD_DATA_DIR, default ~/.herald)')
    .option('--store <spec>', '"sqlite" (default, in the data dir) or a postgres:// URL (env HERALD_STORE)')
    .option('--public-url <url>', 'base URL for confirmation/unsubscribe links (env HERALD_PUBLIC_URL, default http://HOST:PORT)')
    .option('--log-level <level>', 'pino log level (env HERALD_LOG_LEVEL, default info)')
    .action(async (flags: Record<string, string | undefined>) => {
      let config;
      try {
        config = resolveConfig(flags);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`herald: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const herald = await startHerald(config);
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`herald: ${signal} received, shutting down\n`);
        herald.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`herald: shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
