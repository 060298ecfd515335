import type { Pool } from 'pg';
import type { ConsoleSession, ConsoleStore, ConsoleUser } from '../../core/ports/console.js';
import { CONSOLE_SQL as SQL, sessionValues, toConsoleSession, toConsoleUser, userValues } from '../console-sql.js';
import { execute, first, transaction } from './pg-query.js';

/** The console side of PostgresStore. */
export class PostgresConsole implements ConsoleStore {
  constructor(private readonly pool: Pool) {}

  async insertConsoleUserIfAbsent(u: ConsoleUser): Promise<boolean> {
    return (await execute(this.pool, SQL.insertUser, userValues(u))) > 0;
  }

  async getConsoleUser(username: string): Promise<ConsoleUser | undefined> {
    const row = await first(this.pool, SQL.getUser, [username]);
    return row && toConsoleUser(row);
  }

  async setConsolePassword(username: string, passwordHash: string): Promise<boolean> {
    return (await execute(this.pool, SQL.setPassword, [passwordHash, username])) > 0;
  }

  async countConsoleUsers(): Promise<number> {
    return Number((await first(this.pool, SQL.countUsers))?.n ?? 0);
  }

  async findUserIdByName(tenancyId: string, name: string): Promise<string | undefined> {
    const row = await first(this.pool, SQL.findUserId, [tenancyId, name]);
    return row === undefined ? undefined : String(row.id);
  }

  async insertConsoleSession(s: ConsoleSession): Promise<void> {
    await transaction(this.pool, async (c) => {
      await execute(c, SQL.pruneSessions, [s.createdAt]);
      await execute(c, SQL.insertSession, sessionValues(s));
    });
  }

  async getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined> {
    const row = await first(this.pool, SQL.getSession, [idHash, now]);
    return row && toConsoleSession(row);
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    await execute(this.pool, SQL.deleteSession, [idHash]);
  }

  async deleteConsoleSessionsOf(username: string): Promise<number> {
    return execute(this.pool, SQL.deleteSessionsOf, [username]);
  }
}
