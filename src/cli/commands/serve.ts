import type { Command } from 'commander';
import { ConfigError, resolveConfig, type HeraldConfig } from '../../config/config.js';

/**
 * The server's module graph (fastify, both database drivers, the delivery engine, the functions runtime)
 * is loaded only by `serve`: every other command is a short-lived client that should start in a blink.
 */
const loadServer = () => import('../../server/herald.js');

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Herald server')
    .option('--config <file>', 'read settings from this YAML file (keys as the flags, camelCase); flags and env win over it (env HERALD_CONFIG)')
    .option('--port <port>', 'port to listen on (env HERALD_PORT, default 8080)')
    .option('--host <host>', 'address to bind (env HERALD_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where state lives (env HERALD_DATA_DIR, default ~/.herald)')
    .option('--store <spec>', '"sqlite" (default, in the data dir) or a postgres:// URL (env HERALD_STORE)')
    .option('--public-url <url>', 'base URL for confirmation/unsubscribe links (env HERALD_PUBLIC_URL, default http(s)://HOST:PORT)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain, re-read on SIGHUP (env HERALD_TLS_CERT; needs --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert, unencrypted (env HERALD_TLS_KEY)')
    .option('--log-level <level>', 'pino log level (env HERALD_LOG_LEVEL, default info)')
    .option('--log-format <format>', 'json or pretty (env HERALD_LOG_FORMAT; default pretty on a terminal, json otherwise)')
    .option('--smtp-url <url>', 'send EMAIL through smtp://user:pass@host:port (env HERALD_SMTP_URL); without it mail goes to the dev mailbox')
    .option('--mail-from <address>', 'From: of Herald emails (env HERALD_MAIL_FROM)')
    .option('--retry-time-scale <factor>', 'multiply every retry delay and window, e.g. 0.001 for demos (env HERALD_RETRY_TIME_SCALE, default 1)')
    .option('--allow-private-endpoints', 'allow deliveries to loopback/private addresses (env HERALD_ALLOW_PRIVATE_ENDPOINTS=1)')
    .option('--max-backlog <n>', 'refuse publishes with 429 while more deliveries than this wait (env HERALD_MAX_BACKLOG, default 200000)')
    .option('--delivery-lag-target <duration>', 'pace publishes while deliveries are later than this and publishing keeps Herald busy, e.g. 500ms, 2s, or off (env HERALD_DELIVERY_LAG_TARGET, default 500ms)')
    .option('--delivery-threads <n>', 'worker threads that make HTTP deliveries (webhooks, Slack, PagerDuty, SMS); 0 makes them on the main thread (env HERALD_DELIVERY_THREADS, default 1)')
    .option('--message-retention <duration>', 'prune messages older than this (once delivered or dead), e.g. 7d, 12h, 30s (env HERALD_MESSAGE_RETENTION, default 7d)')
    .option('--endpoint-disable-after <duration>', 'disable a subscription after this long without a successful delivery, holding its deliveries until enabled, e.g. 5d, 12h, 3s (env HERALD_ENDPOINT_DISABLE_AFTER, default 5d)')
    .option('--functions-sandbox <mode>', 'bwrap (default: each function process in a bubblewrap sandbox) or none (as Herald\'s user; warned at start) (env HERALD_FUNCTIONS_SANDBOX)')
    .option('--functions-network <mode>', 'shared (default: the host\'s network, loopback included) or isolated (a network namespace of their own) (env HERALD_FUNCTIONS_NETWORK)')
    .option('--functions-python <path>', 'the Python interpreter functions run with (env HERALD_FUNCTIONS_PYTHON, default /usr/bin/python3)')
    .option('--functions-bwrap <path>', 'the bubblewrap executable (env HERALD_FUNCTIONS_BWRAP, default bwrap on PATH)')
    .option('--delivery-timeout-ms <ms>', 'time limit of one delivery attempt (env HERALD_DELIVERY_TIMEOUT_MS, default 30000)')
    .option('--sms-base-url <url>', 'Twilio-compatible API base URL (env HERALD_SMS_BASE_URL, default https://api.twilio.com)')
    .option('--sms-account-sid <sid>', 'SMS account SID (env HERALD_SMS_ACCOUNT_SID)')
    .option('--sms-auth-token <token>', 'SMS auth token (env HERALD_SMS_AUTH_TOKEN)')
    .option('--sms-from <number>', 'SMS sender number (env HERALD_SMS_FROM)')
    .option('--node-id <id>', 'this node\'s name in leases and traces (env HERALD_NODE_ID)')
    .action(async (flags: Record<string, string | undefined>) => {
      const configError = (err: unknown): never => {
        if (err instanceof ConfigError) {
          process.stderr.write(`herald: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      };
      let config: HeraldConfig;
      try {
        config = resolveConfig(flags);
      } catch (err) {
        return configError(err);
      }
      const herald = await (await loadServer()).startHerald(config).catch(configError);
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
      // SIGHUP re-reads a renewed certificate (systemd's ExecReload, certbot's deploy hook). Without TLS it
      // keeps its default meaning (the terminal went away: stop).
      if (config.tls !== undefined) {
        process.on('SIGHUP', () => {
          if (!stopping) void herald.reloadTls();
        });
      }
    });
}
