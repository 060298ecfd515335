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

/** The console side of the persistence port (src/store/sqlite/sqlite-console.ts, src/store/postgres/postgres-console.ts). */
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
}

/** SQL shared by both backends (`?` placeholders; the Postgres module numbers them). */
export const CONSOLE_SQL = {
  insertUser:
    'INSERT INTO console_users (username, password_hash, tenancy_id, user_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING',
  getUser: 'SELECT username, password_hash, tenancy_id, user_id, created_at FROM console_users WHERE username = ?',
  setPassword: 'UPDATE console_users SET password_hash = ? WHERE username = ?',
  countUsers: 'SELECT COUNT(*) AS n FROM console_users',
  findUserId: 'SELECT id FROM users WHERE tenancy_id = ? AND name = ? ORDER BY created_at LIMIT 1',
  insertSession: 'INSERT INTO console_sessions (id_hash, username, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  pruneSessions: 'DELETE FROM console_sessions WHERE expires_at <= ?',
  getSession: 'SELECT id_hash, username, csrf_token, created_at, expires_at FROM console_sessions WHERE id_hash = ? AND expires_at > ?',
  deleteSession: 'DELETE FROM console_sessions WHERE id_hash = ?',
} as const;

type Row = Record<string, unknown>;

export const userValues = (u: ConsoleUser): unknown[] => [u.username, u.passwordHash, u.tenancyId, u.userId, u.createdAt];
export const sessionValues = (s: ConsoleSession): unknown[] => [s.idHash, s.username, s.csrfToken, s.createdAt, s.expiresAt];

export const toConsoleUser = (r: Row): ConsoleUser => ({
  username: String(r.username),
  passwordHash: String(r.password_hash),
  tenancyId: String(r.tenancy_id),
  userId: String(r.user_id),
  createdAt: Number(r.created_at),
});

export const toConsoleSession = (r: Row): ConsoleSession => ({
  idHash: String(r.id_hash),
  username: String(r.username),
  csrfToken: String(r.csrf_token),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});
