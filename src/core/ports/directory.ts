import type { ApiKey, Compartment, Tenancy, User } from '../models.js';

/** Tenancies, their compartments and API keys: what signing in and bootstrap read and write. */
export interface DirectoryStore {
  countTenancies(): Promise<number>;
  /** Creates tenancy, its root compartment (id === tenancy.id), the user and the key in one transaction. */
  createTenancy(tenancy: Tenancy, admin: User, key: ApiKey): Promise<void>;
  getTenancy(id: string): Promise<Tenancy | undefined>;
  getUser(tenancyId: string, userId: string): Promise<User | undefined>;
  insertApiKey(key: ApiKey): Promise<void>;
  getApiKey(tenancyId: string, userId: string, fingerprint: string): Promise<ApiKey | undefined>;
  listApiKeys(tenancyId: string, userId: string): Promise<ApiKey[]>;
  insertCompartment(c: Compartment): Promise<void>;
  getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined>;
  listCompartments(tenancyId: string, parentId: string): Promise<Compartment[]>;
}
