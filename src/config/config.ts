import { randomBytes } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readConfigFile, type FileValueKind } from './config-file.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';

export { ConfigError };

export interface SmsConfig {
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly from: string;
}

/** Everything Herald's server reads from outside, resolved once at start-up. */
export interface HeraldConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** 'sqlite' (file in dataDir) or a postgres:// URL. */
  readonly store: string;
  /** Base of confirmation/unsubscribe links; undefined means http(s)://HOST:PORT once listening. */
  readonly publicUrl: string | undefined;
  readonly logLevel: string;
  /** smtp://user:pass@host:port; undefined keeps email in the dev mailbox. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** Multiplies every retry delay and window; 1 is OCI's real schedule. */
  readonly retryTimeScale: number;
  readonly allowPrivateEndpoints: boolean;
  readonly sms: SmsConfig | undefined;
  /** Names this node in leases and attempt traces. */
  readonly nodeId: string;
  /** One delivery attempt's time limit; a claim's lease is twice this plus 5 s. */
  readonly deliveryTimeoutMs: number;
  /** Publishes are refused with 429 while more than this many deliveries wait. */
  readonly maxBacklog: number;
  /** Publishes are paced while deliveries are later than this and publishing keeps the thread busy; 0: never paced. */
  readonly deliveryLagTargetMs: number;
  /** Worker threads that make HTTP deliveries (webhooks, Slack, PagerDuty, SMS); 0 makes them on the main thread. */
  readonly deliveryThreads: number;
  /** Messages older than this are pruned, with their deliveries, once every delivery finished. */
  readonly messageRetentionMs: number;
  /** A subscription with no successful delivery for this long (from its first failure) is disabled. */
  readonly endpointDisableAfterMs: number;
  /** `bwrap`: every function process in a bubblewrap sandbox; `none`: as Herald's own user (warned at start). */
  readonly functionsSandbox: 'bwrap' | 'none';
  /** `shared`: functions use the host's network (its loopback included); `isolated`: a network namespace of their own. */
  readonly functionsNetwork: 'shared' | 'isolated';
  /** The Python interpreter functions run with. */
  readonly functionsPython: string;
  /** The bubblewrap executable. */
  readonly functionsBwrap: string;
  /** Serve HTTPS with this certificate chain and key (absolute paths, re-read on SIGHUP); undefined serves HTTP. */
  readonly tls: TlsFiles | undefined;
  /** Forced log format; undefined picks pretty on a terminal and JSON otherwise. */
  readonly logFormat: LogFormat | undefined;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export type LogFormat = 'json' | 'pretty';

export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  store?: string;
  publicUrl?: string;
  logLevel?: string;
  smtpUrl?: string;
  mailFrom?: string;
  retryTimeScale?: string;
  allowPrivateEndpoints?: string | boolean;
  smsBaseUrl?: string;
  smsAccountSid?: string;
  smsAuthToken?: string;
  smsFrom?: string;
  nodeId?: string;
  deliveryTimeoutMs?: string;
  maxBacklog?: string;
  deliveryLagTarget?: string;
  deliveryThreads?: string;
  messageRetention?: string;
  endpointDisableAfter?: string;
  functionsSandbox?: string;
  functionsNetwork?: string;
  functionsPython?: string;
  functionsBwrap?: string;
  tlsCert?: string;
  tlsKey?: string;
  logFormat?: string;
  /** A YAML file with any of the keys above; flags and env win over it. */
  config?: string;
}

export const ENV: Readonly<Record<keyof ServeFlags, string>> = {
  port: 'HERALD_PORT',
  host: 'HERALD_HOST',
  dataDir: 'HERALD_DATA_DIR',
  store: 'HERALD_STORE',
  publicUrl: 'HERALD_PUBLIC_URL',
  logLevel: 'HERALD_LOG_LEVEL',
  smtpUrl: 'HERALD_SMTP_URL',
  mailFrom: 'HERALD_MAIL_FROM',
  retryTimeScale: 'HERALD_RETRY_TIME_SCALE',
  allowPrivateEndpoints: 'HERALD_ALLOW_PRIVATE_ENDPOINTS',
  smsBaseUrl: 'HERALD_SMS_BASE_URL',
  smsAccountSid: 'HERALD_SMS_ACCOUNT_SID',
  smsAuthToken: 'HERALD_SMS_AUTH_TOKEN',
  smsFrom: 'HERALD_SMS_FROM',
  nodeId: 'HERALD_NODE_ID',
  deliveryTimeoutMs: 'HERALD_DELIVERY_TIMEOUT_MS',
  maxBacklog: 'HERALD_MAX_BACKLOG',
  deliveryLagTarget: 'HERALD_DELIVERY_LAG_TARGET',
  deliveryThreads: 'HERALD_DELIVERY_THREADS',
  messageRetention: 'HERALD_MESSAGE_RETENTION',
  endpointDisableAfter: 'HERALD_ENDPOINT_DISABLE_AFTER',
  functionsSandbox: 'HERALD_FUNCTIONS_SANDBOX',
  functionsNetwork: 'HERALD_FUNCTIONS_NETWORK',
  functionsPython: 'HERALD_FUNCTIONS_PYTHON',
  functionsBwrap: 'HERALD_FUNCTIONS_BWRAP',
  tlsCert: 'HERALD_TLS_CERT',
  tlsKey: 'HERALD_TLS_KEY',
  logFormat: 'HERALD_LOG_FORMAT',
  config: 'HERALD_CONFIG',
};

/** The keys a config file may hold (every flag but `config`) and how each is written there. */
export const FILE_KEYS: Readonly<Record<Exclude<keyof ServeFlags, 'config'>, FileValueKind>> = {
  port: 'number',
  host: 'string',
  dataDir: 'path',
  store: 'string',
  publicUrl: 'string',
  logLevel: 'string',
  logFormat: 'string',
  smtpUrl: 'string',
  mailFrom: 'string',
  retryTimeScale: 'number',
  allowPrivateEndpoints: 'boolean',
  smsBaseUrl: 'string',
  smsAccountSid: 'string',
  smsAuthToken: 'string',
  smsFrom: 'string',
  nodeId: 'string',
  deliveryTimeoutMs: 'number',
  maxBacklog: 'number',
  deliveryLagTarget: 'string',
  deliveryThreads: 'number',
  messageRetention: 'string',
  endpointDisableAfter: 'string',
  functionsSandbox: 'string',
  functionsNetwork: 'string',
  functionsPython: 'command',
  functionsBwrap: 'command',
  tlsCert: 'path',
  tlsKey: 'path',
};

function parseBool(v: string | boolean | undefined): boolean {
  if (typeof v === 'boolean') return v;
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

function checkUrl(raw: string, what: string, schemes: string[]): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`Invalid ${what}: ${raw}`);
  }
  if (!schemes.includes(u.protocol)) throw new ConfigError(`${what} must use ${schemes.join(' or ')}: ${raw}`);
  return u;
}

/** Precedence: flag, then environment variable, then the config file (--config / HERALD_CONFIG), then default. */
export function resolveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const fromFlagOrEnv = (k: keyof ServeFlags): string | undefined => {
    const f = flags[k];
    if (f !== undefined) return String(f);
    const e = env[ENV[k]];
    return e === '' ? undefined : e;
  };
  const configFile = fromFlagOrEnv('config');
  const file: Record<string, string> = configFile === undefined ? {} : readConfigFile(configFile, FILE_KEYS);
  const pick = (k: keyof ServeFlags): string | undefined => fromFlagOrEnv(k) ?? file[k];
  const portText = pick('port') ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`Invalid port: ${portText}`);
  const host = pick('host') ?? '127.0.0.1';
  const dataDir = resolve(pick('dataDir') ?? join(homedir(), '.herald'));
  const store = pick('store') ?? 'sqlite';
  if (store !== 'sqlite' && !/^postgres(ql)?:\/\//.test(store)) {
    throw new ConfigError(`--store must be "sqlite" or a postgres:// URL, got: ${store}`);
  }
  const publicUrlRaw = pick('publicUrl');
  let publicUrl: string | undefined;
  if (publicUrlRaw !== undefined) {
    const u = checkUrl(publicUrlRaw, '--public-url', ['http:', 'https:']);
    publicUrl = u.origin + u.pathname.replace(/\/+$/, '');
  }
  const smtpUrl = pick('smtpUrl');
  if (smtpUrl !== undefined) checkUrl(smtpUrl, '--smtp-url', ['smtp:', 'smtps:']);
  const scaleText = pick('retryTimeScale') ?? '1';
  const retryTimeScale = Number(scaleText);
  if (!Number.isFinite(retryTimeScale) || retryTimeScale <= 0 || retryTimeScale > 1000) {
    throw new ConfigError(`--retry-time-scale must be a number greater than 0, got: ${scaleText}`);
  }
  const smsBaseUrl = pick('smsBaseUrl');
  let sms: SmsConfig | undefined;
  if (smsBaseUrl !== undefined || pick('smsAccountSid') !== undefined) {
    const accountSid = pick('smsAccountSid');
    const authToken = pick('smsAuthToken');
    const from = pick('smsFrom');
    if (accountSid === undefined || authToken === undefined || from === undefined) {
      throw new ConfigError('SMS needs --sms-account-sid, --sms-auth-token and --sms-from together.');
    }
    const baseUrl = checkUrl(smsBaseUrl ?? 'https://api.twilio.com', '--sms-base-url', ['http:', 'https:']).origin;
    sms = { baseUrl, accountSid, authToken, from };
  }
  const timeoutText = pick('deliveryTimeoutMs') ?? '30000';
  const deliveryTimeoutMs = Number(timeoutText);
  if (!Number.isInteger(deliveryTimeoutMs) || deliveryTimeoutMs < 100 || deliveryTimeoutMs > 600_000) {
    throw new ConfigError(`--delivery-timeout-ms must be an integer from 100 to 600000, got: ${timeoutText}`);
  }
  const backlogText = pick('maxBacklog') ?? '200000';
  const maxBacklog = Number(backlogText);
  if (!Number.isInteger(maxBacklog) || maxBacklog < 1) throw new ConfigError(`--max-backlog must be a positive integer, got: ${backlogText}`);
  const lagText = pick('deliveryLagTarget') ?? '500ms';
  const deliveryLagTargetMs = lagText.trim().toLowerCase() === 'off' ? 0 : parseDuration(lagText);
  if (deliveryLagTargetMs === undefined || deliveryLagTargetMs > 600_000) {
    throw new ConfigError(`--delivery-lag-target must be a duration up to 10m, such as 500ms or 2s, or off; got: ${lagText}`);
  }
  const threadsText = pick('deliveryThreads') ?? '1';
  const deliveryThreads = Number(threadsText);
  if (!/^\s*\d+\s*$/.test(threadsText) || deliveryThreads > 16) {
    throw new ConfigError(`--delivery-threads must be an integer from 0 to 16, got: ${threadsText}`);
  }
  const retentionText = pick('messageRetention') ?? '7d';
  const messageRetentionMs = parseDuration(retentionText);
  if (messageRetentionMs === undefined || messageRetentionMs < 1000) {
    throw new ConfigError(`--message-retention must be a duration of at least 1s, such as 7d, 12h or 30s; got: ${retentionText}`);
  }
  const disableText = pick('endpointDisableAfter') ?? '5d';
  const endpointDisableAfterMs = parseDuration(disableText);
  if (endpointDisableAfterMs === undefined || endpointDisableAfterMs < 1000) {
    throw new ConfigError(`--endpoint-disable-after must be a duration of at least 1s, such as 5d, 12h or 3s; got: ${disableText}`);
  }
  const functionsSandbox = pick('functionsSandbox') ?? 'bwrap';
  if (functionsSandbox !== 'bwrap' && functionsSandbox !== 'none') {
    throw new ConfigError(`--functions-sandbox must be "bwrap" or "none", got: ${functionsSandbox}`);
  }
  const functionsNetwork = pick('functionsNetwork') ?? 'shared';
  if (functionsNetwork !== 'shared' && functionsNetwork !== 'isolated') {
    throw new ConfigError(`--functions-network must be "shared" or "isolated", got: ${functionsNetwork}`);
  }
  const tlsCert = pick('tlsCert');
  const tlsKey = pick('tlsKey');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(`HTTPS needs both --tls-cert and --tls-key (HERALD_TLS_CERT, HERALD_TLS_KEY); only ${tlsCert === undefined ? '--tls-key' : '--tls-cert'} is set.`);
  }
  const tls = tlsCert === undefined || tlsKey === undefined ? undefined : { certFile: resolve(tlsCert), keyFile: resolve(tlsKey) };
  const logFormat = pick('logFormat');
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError(`--log-format must be "json" or "pretty", got: ${logFormat}`);
  }
  const functionsPython = pick('functionsPython') ?? '/usr/bin/python3';
  if (!functionsPython.startsWith('/')) throw new ConfigError(`--functions-python must be an absolute path, got: ${functionsPython}`);
  return Object.freeze({
    port,
    host,
    dataDir,
    store,
    publicUrl,
    logLevel: pick('logLevel') ?? 'info',
    smtpUrl,
    mailFrom: pick('mailFrom') ?? 'Herald Notifications <noreply@herald.invalid>',
    retryTimeScale,
    allowPrivateEndpoints: parseBool(pick('allowPrivateEndpoints')),
    sms,
    nodeId: pick('nodeId') ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    deliveryTimeoutMs,
    maxBacklog,
    deliveryLagTargetMs,
    deliveryThreads,
    messageRetentionMs,
    endpointDisableAfterMs,
    functionsSandbox,
    functionsNetwork,
    functionsPython,
    functionsBwrap: pick('functionsBwrap') ?? 'bwrap',
    tls: tls === undefined ? undefined : Object.freeze(tls),
    logFormat,
  });
}
