import { randomBytes } from 'node:crypto';
import type { ConsolePasswords } from '../core/iam/iam-deps.js';
import type { User } from '../core/models.js';
import type { ConsoleStore } from '../core/ports/console.js';
import { hashPassword } from './auth.js';

/**
 * Console sign-in for IAM users: the console user name is the IAM user's name, so it must not
 * already sign in someone of another tenancy. Only the password's scrypt hash is stored.
 */
export class ConsoleCredentials implements ConsolePasswords {
  constructor(private readonly store: ConsoleStore) {}

  async reset(user: User): Promise<{ ok: true; password: string } | { ok: false }> {
    const password = randomBytes(18).toString('base64url');
    const passwordHash = await hashPassword(password);
    const existing = await this.store.getConsoleUser(user.name);
    if (existing !== undefined) {
      if (existing.tenancyId !== user.tenancyId || existing.userId !== user.id) return { ok: false };
      await this.store.setConsolePassword(user.name, passwordHash);
      // A reset is what an administrator does after a suspected leak: sessions opened with the old password end.
      await this.store.deleteConsoleSessionsOf(user.name);
      return { ok: true, password };
    }
    const inserted = await this.store.insertConsoleUserIfAbsent({ username: user.name, passwordHash, tenancyId: user.tenancyId, userId: user.id, createdAt: Date.now() });
    // Lost a race with another reset of the same name: that one's password stands unless it is ours to reset.
    if (!inserted) return this.reset(user);
    return { ok: true, password };
  }
}
