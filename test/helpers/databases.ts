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
