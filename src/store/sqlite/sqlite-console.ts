import type Database from 'better-sqlite3';
import {
  CONSOLE_SQL as SQL,
  sessionValues,
  toConsoleSession,
  toConsoleUser,
  userValues,
  type ConsoleSession,
  type ConsoleStore,
  type ConsoleUser,
} from '../console-store.js';
import type { Row } from '../rows.js';
import type { WriteGate } from './write-gate.js';

/** The console side of SqliteStore, on the same connection. */
export class SqliteConsole implements ConsoleStore {
  constructor(
    private readonly db: Database.Database,
    private readonly gate: WriteGate,
  ) {}

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.db.prepare<unknown[], Row>(sql).get(...params);
  }

  private run(sql: string, ...params: unknown[]): number {
    return this.db.prepare<unknown[], Row>(sql).run(...params).changes;
  }

  async insertConsoleUserIfAbsent(u: ConsoleUser): Promise<boolean> {
    await this.gate.pass();
    return this.run(SQL.insertUser, ...userValues(u)) > 0;
  }

  async getConsoleUser(username: string): Promise<ConsoleUser | undefined> {
    const row = this.get(SQL.getUser, username);
    return row && toConsoleUser(row);
  }

  async setConsolePassword(username: string, passwordHash: string): Promise<boolean> {
    await this.gate.pass();
    return this.run(SQL.setPassword, passwordHash, username) > 0;
  }

  async countConsoleUsers(): Promise<number> {
    return Number(this.get(SQL.countUsers)?.n ?? 0);
  }

  async findUserIdByName(tenancyId: string, name: string): Promise<string | undefined> {
    const row = this.get(SQL.findUserId, tenancyId, name);
    return row === undefined ? undefined : String(row.id);
  }

  async insertConsoleSession(s: ConsoleSession): Promise<void> {
    await this.gate.pass();
    this.db.transaction(() => {
      this.run(SQL.pruneSessions, s.createdAt);
      this.run(SQL.insertSession, ...sessionValues(s));
    }).immediate();
  }

  async getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined> {
    const row = this.get(SQL.getSession, idHash, now);
    return row && toConsoleSession(row);
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    await this.gate.pass();
    this.run(SQL.deleteSession, idHash);
  }
}
