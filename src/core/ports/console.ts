/** A web-console login; it acts as an OCI user (the bootstrap tenancy's admin). */
export interface ConsoleUser {
  username: string;
  /** `scrypt$<salt b64>$<hash b64>`; the password itself is never stored. */
  passwordHash: string;
  tenancyId: string;
  userId: string;
  createdAt: number;
}

export interface ConsoleSession {
  /** SHA-256 (hex) of the random session id held in the cookie. */
  idHash: string;
  username: string;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** Console logins and sessions (src/store/sqlite/sqlite-console.ts, src/store/postgres/postgres-console.ts). */
export interface ConsoleStore {
  /** Inserts the user unless one with that username exists; returns whether it was inserted. */
  insertConsoleUserIfAbsent(u: ConsoleUser): Promise<boolean>;
  getConsoleUser(username: string): Promise<ConsoleUser | undefined>;
  setConsolePassword(username: string, passwordHash: string): Promise<boolean>;
  countConsoleUsers(): Promise<number>;
  /** The id of the tenancy's user with that name, if any (the console acts as the bootstrap admin). */
  findUserIdByName(tenancyId: string, name: string): Promise<string | undefined>;
  /** Also prunes expired sessions. */
  insertConsoleSession(s: ConsoleSession): Promise<void>;
  /** The session when it exists and has not expired at `now`. */
  getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined>;
  deleteConsoleSession(idHash: string): Promise<void>;
  /** Ends every session of that login (a password reset locks out whoever held one); returns how many. */
  deleteConsoleSessionsOf(username: string): Promise<number>;
}

