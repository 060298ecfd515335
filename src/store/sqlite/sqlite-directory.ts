import type { DirectoryStore } from '../../core/ports/directory.js';
import type { SettingsStore } from '../../core/ports/settings.js';
import type { ApiKey, Compartment, Tenancy, User } from '../../core/models.js';
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
import type { SqliteDb } from './sqlite-db.js';

/** Tenancies, compartments, API keys and installation settings on SQLite. */
export class SqliteDirectory implements DirectoryStore, SettingsStore {
  constructor(private readonly sql: SqliteDb) {}

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.sql.pass();
    return this.sql.tx(() => {
      this.sql.run(SQL.putSettingIfAbsent, key, value);
      return String(this.sql.get(SQL.getSetting, key)?.value);
    });
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.sql.get(SQL.getSetting, key);
    return row === undefined ? undefined : String(row.value);
  }

  async countTenancies(): Promise<number> {
    return Number(this.sql.get(SQL.countTenancies)?.n ?? 0);
  }

  async createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void> {
    await this.sql.pass();
    this.sql.tx(() => {
      this.sql.run(SQL.insertTenancy, ...tenancyValues(tenancy));
      this.sql.run(SQL.insertCompartment, ...compartmentValues(rootCompartment(tenancy)));
      this.sql.run(SQL.insertUser, ...userValues(admin));
      this.sql.run(SQL.insertApiKey, ...apiKeyValues(key));
    });
  }

  async getTenancy(id: string): Promise<Tenancy | undefined> {
    const row = this.sql.get(SQL.getTenancy, id);
    return row && toTenancy(row);
  }

  async getUser(tenancyId: string, userId: string): Promise<User | undefined> {
    const row = this.sql.get(SQL.getUser, tenancyId, userId);
    return row && toUser(row);
  }

  async insertApiKey(key: ApiKey): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.insertApiKey, ...apiKeyValues(key));
  }

  async getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined> {
    const row = this.sql.get(SQL.getApiKey, tenancyId, userId, fingerprint);
    return row && toApiKey(row);
  }

  async listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]> {
    return this.sql.all(SQL.listApiKeys, tenancyId, userId).map(toApiKey);
  }

  async insertCompartment(c: Compartment): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.insertCompartment, ...compartmentValues(c));
  }

  async getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined> {
    const row = this.sql.get(SQL.getCompartment, tenancyId, id);
    return row && toCompartment(row);
  }

  async listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]> {
    return this.sql.all(SQL.listCompartments, tenancyId, parentId).map(toCompartment);
  }
}
