import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import * as common from 'oci-common';
import * as ons from 'oci-ons';
import { resolveConfig, type ServeFlags } from '../../src/config/config.js';
import { startHerald, type RunningHerald } from '../../src/server/herald.js';
import { dropSchema, PG_URL } from './pg.js';
import { STORE_KINDS, type StoreKind } from './stores.js';

export type { StoreKind };
/** The same list as the store contract suites (STORE_KINDS). */
export const KINDS: readonly StoreKind[] = STORE_KINDS;

export interface TestHerald {
  kind: StoreKind;
  herald: RunningHerald;
  dataDir: string;
  schema: string | undefined;
  configFile: string;
  provider: common.ConfigFileAuthenticationDetailsProvider;
  cp: ons.NotificationControlPlaneClient;
  dp: ons.NotificationDataPlaneClient;
  /** The tenancy OCID, which is also the root compartment. */
  tenancyId: string;
  /** Stops the server, keeping its data, and starts it again on the same store. */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

function clients(configFile: string, url: string): Pick<TestHerald, 'provider' | 'cp' | 'dp' | 'tenancyId'> {
  const provider = new common.ConfigFileAuthenticationDetailsProvider(configFile, 'DEFAULT');
  const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
  const dp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: provider });
  // The provider carries a region, so the constructor already set an endpoint: override it after.
  cp.endpoint = url;
  dp.endpoint = url;
  return { provider, cp, dp, tenancyId: provider.getTenantId() };
}

/** Starts a real Herald in this process on a fresh store and connects the real oci-ons SDK to it. */
export async function startTestHerald(kind: StoreKind, flags: ServeFlags = {}): Promise<TestHerald> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-test-'));
  const schema = kind === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const config = resolveConfig({ port: '0', host: '127.0.0.1', dataDir, store: kind === 'sqlite' ? 'sqlite' : PG_URL, ...flags }, {});
  const logger = pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' });
  let herald = await startHerald(config, { logger, schema });
  const configFile = herald.ociConfigPath ?? join(dataDir, 'oci', 'config');
  const t: TestHerald = {
    kind,
    herald,
    dataDir,
    schema,
    configFile,
    ...clients(configFile, herald.url),
    async restart() {
      t.cp.close();
      t.dp.close();
      await herald.close();
      herald = await startHerald(config, { logger, schema });
      t.herald = herald;
      Object.assign(t, clients(configFile, herald.url));
    },
    async stop() {
      t.cp.close();
      t.dp.close();
      await herald.close();
      await rm(dataDir, { recursive: true, force: true });
      if (schema !== undefined) await dropSchema(schema);
    },
  };
  return t;
}

/** Reads one unlabelled sample from the server's Prometheus /metrics (undefined when absent). */
export async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
