import { type Pool, type PoolClient } from 'pg';
import type { ApiKey, Compartment, Tenancy, User } from '../../core/models.js';
import type { DirectoryStore } from '../../core/ports/directory.js';
import type { SettingsStore } from '../../core/ports/settings.js';
import {
  apiKeyValues,
  compartmentValues,
  rootCompartment,
  tenancyValues,
  toApiKey,
  toCompartment,
  toTenancy,
  toUser,
  userValues,
} from '../rows.js';
import { SQL } from '../sql.js';
import { first, rows, transaction } from './pg-query.js';

/** Tenancies, compartments, API keys and installation settings on PostgreSQL. */
export class PostgresDirectory implements DirectoryStore, SettingsStore {
  constructor(private readonly pool: Pool) {}

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await rows(this.pool, SQL.putSettingIfAbsent, [key, value]);
    // Settings are never updated or deleted, so whatever is there now is the winner.
    return String((await first(this.pool, SQL.getSetting, [key]))?.value);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await first(this.pool, SQL.getSetting, [key]);
    return row === undefined ? undefined : String(row.value);
  }

  async countTenancies(): Promise<number> {
    return Number((await first(this.pool, SQL.countTenancies))?.n ?? 0);
  }

  async createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void> {
    await this.tx(async (c) => {
      await rows(c, SQL.insertTenancy, tenancyValues(tenancy));
      await rows(c, SQL.insertCompartment, compartmentValues(rootCompartment(tenancy)));
      await rows(c, SQL.insertUser, userValues(admin));
      await rows(c, SQL.insertApiKey, apiKeyValues(key));
    });
  }

  async getTenancy(id: string): Promise<Tenancy | undefined> {
    const row = await first(this.pool, SQL.getTenancy, [id]);
    return row && toTenancy(row);
  }

  async getUser(tenancyId: string, userId: string): Promise<User | undefined> {
    const row = await first(this.pool, SQL.getUser, [tenancyId, userId]);
    return row && toUser(row);
  }

  async insertApiKey(key: ApiKey): Promise<void> {
    await rows(this.pool, SQL.insertApiKey, apiKeyValues(key));
  }

  async getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined> {
    const row = await first(this.pool, SQL.getApiKey, [tenancyId, userId, fingerprint]);
    return row && toApiKey(row);
  }

  async listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]> {
    return (await rows(this.pool, SQL.listApiKeys, [tenancyId, userId])).map(toApiKey);
  }

  async insertCompartment(c: Compartment): Promise<void> {
    await rows(this.pool, SQL.insertCompartment, compartmentValues(c));
  }

  async getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = await first(this.pool, SQL.getCompartment, [tenancyId, id]);
    return row && toCompartment(row);
  }

  async listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]> {
    return (await rows(this.pool, SQL.listCompartments, [tenancyId, parentId])).map(toCompartment);
  }
}
