import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Everything Herald's server reads from outside, resolved once at start-up. */
export interface HeraldConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** 'sqlite' (file in dataDir) or a postgres:// URL. */
  readonly store: string;
  /** Base of confirmation/unsubscribe links; undefined means http://HOST:PORT once listening. */
  readonly publicUrl: string | undefined;
  readonly logLevel: string;
}

export interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  store?: string;
  publicUrl?: string;
  logLevel?: string;
}

export const ENV = {
  port: 'HERALD_PORT',
  host: 'HERALD_HOST',
  dataDir: 'HERALD_DATA_DIR',
  store: 'HERALD_STORE',
  publicUrl: 'HERALD_PUBLIC_URL',
  logLevel: 'HERALD_LOG_LEVEL',
} as const;

export class ConfigError extends Error {}

/** Precedence: flag, then environment variable, then default. */
export function resolveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const pick = (k: keyof typeof ENV): string | undefined => flags[k] ?? env[ENV[k]] ?? undefined;
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
    try {
      const u = new URL(publicUrlRaw);
      publicUrl = u.origin + u.pathname.replace(/\/+$/, '');
    } catch {
      throw new ConfigError(`Invalid --public-url: ${publicUrlRaw}`);
    }
  }
  const logLevel = pick('logLevel') ?? 'info';
  return Object.freeze({ port, host, dataDir, store, publicUrl, logLevel });
}
