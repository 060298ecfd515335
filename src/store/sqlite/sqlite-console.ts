import type { ConsoleSession, ConsoleStore, ConsoleUser } from '../../core/ports/console.js';
import { CONSOLE_SQL as SQL, sessionValues, toConsoleSession, toConsoleUser, userValues } from '../console-sql.js';
import type { SqliteDb } from './sqlite-db.js';

/** The console side of SqliteStore, on the same connection. */
export class SqliteConsole implements ConsoleStore {
  constructor(private readonly sql: SqliteDb) {}

  async insertConsoleUserIfAbsent(u: ConsoleUser): Promise<boolean> {
    await this.sql.pass();
    return this.sql.run(SQL.insertUser, ...userValues(u)) > 0;
  }

  async getConsoleUser(username: string): Promise<ConsoleUser | undefined> {
    const row = this.sql.get(SQL.getUser, username);
    return row && toConsoleUser(row);
  }

  async setConsolePassword(username: string, passwordHash: string): Promise<boolean> {
    await this.sql.pass();
    return this.sql.run(SQL.setPassword, passwordHash, username) > 0;
  }

  async countConsoleUsers(): Promise<number> {
    return Number(this.sql.get(SQL.countUsers)?.n ?? 0);
  }

  async findUserIdByName(tenancyId: string, name: string): Promise<string | undefined> {
    const row = this.sql.get(SQL.findUserId, tenancyId, name);
    return row === undefined ? undefined : String(row.id);
  }

  async insertConsoleSession(s: ConsoleSession): Promise<void> {
    await this.sql.pass();
    this.sql.tx(() => {
      this.sql.run(SQL.pruneSessions, s.createdAt);
      this.sql.run(SQL.insertSession, ...sessionValues(s));
    });
  }

  async getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined> {
    const row = this.sql.get(SQL.getSession, idHash, now);
    return row && toConsoleSession(row);
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    await this.sql.pass();
    this.sql.run(SQL.deleteSession, idHash);
  }

  async deleteConsoleSessionsOf(username: string): Promise<number> {
    await this.sql.pass();
    return this.sql.run(SQL.deleteSessionsOf, username);
  }
}
