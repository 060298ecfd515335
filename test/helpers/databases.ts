import { randomBytes } from 'node:crypto';
import pg from 'pg';
import * as common from 'oci-common';
import * as ons from 'oci-ons';
import { PG_URL } from './pg.js';

/** A PostgreSQL database of its own, so separate Herald processes can share it without touching other tests. */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** oci-ons clients for a Herald process, from its bootstrap config file. */
export function onsClients(configFile: string, url: string): { cp: ons.NotificationControlPlaneClient; dp: ons.NotificationDataPlaneClient; tenancy: string } {
  const provider = new common.ConfigFileAuthenticationDetailsProvider(configFile, 'DEFAULT');
  const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
  const dp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: provider });
  cp.endpoint = url;
  dp.endpoint = url;
  return { cp, dp, tenancy: provider.getTenantId() };
}

/** What a SIGKILLed node legitimately does to a publish: nothing listens any more, or the connection is cut mid-request. */
export const KILLED_NODE_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'];

/**
 * An oci-ons data-plane client whose transport failures keep their cause's code: the SDK reports every one
 * of them as just "fetch failed", which would not tell a refused connection from any other client-side error.
 */
export function publisher(configFile: string, url: string): ons.NotificationDataPlaneClient {
  const provider = new common.ConfigFileAuthenticationDetailsProvider(configFile, 'DEFAULT');
  const inner = new common.FetchHttpClient(new common.DefaultRequestSigner(provider));
  const httpClient: common.HttpClient = {
    send: (...args: Parameters<common.HttpClient['send']>) =>
      inner.send(...args).catch((err: unknown) => {
        const e = err as { code?: unknown; cause?: { code?: unknown } };
        if (e.code === undefined && typeof e.cause?.code === 'string') e.code = e.cause.code;
        throw err;
      }),
  };
  const dp = new ons.NotificationDataPlaneClient({ httpClient });
  dp.endpoint = url;
  return dp;
}
