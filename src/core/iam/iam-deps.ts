/** What every IAM service is built from; the composition root passes the same object to each. */
import type { RetryTokenStore } from '../idempotency.js';
import type { User } from '../models.js';
import type { DirectoryStore } from '../ports/directory.js';
import type { Authorizer } from './authorizer.js';
import type { IdentityStore } from './identity-store.js';

/** Console sign-in passwords for IAM users (the console module keeps them, hashed). */
export interface ConsolePasswords {
  /** Sets a fresh password for the user and returns it; ok false when the name signs in someone of another tenancy. */
  reset(user: User): Promise<{ ok: true; password: string } | { ok: false }>;
}

export interface IamDeps {
  identity: IdentityStore;
  directory: DirectoryStore;
  tokens: RetryTokenStore;
  authz: Authorizer;
  /**
   * Told after every change that can grant or take away a right (policies, memberships,
   * keys, users, compartments), so this node's caches (policies, public keys) drop the tenancy at once.
   */
  accessChanged: (tenancyId: string) => void;
  consolePasswords: ConsolePasswords;
  now: () => number;
}
