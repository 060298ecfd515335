import type { ConsoleSession, ConsoleUser } from '../core/ports/console.js';
import type { SqlValue } from './rows.js';

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
  deleteSessionsOf: 'DELETE FROM console_sessions WHERE username = ?',
} as const;

type Row = Record<string, unknown>;

export const userValues = (u: ConsoleUser): SqlValue[] => [u.username, u.passwordHash, u.tenancyId, u.userId, u.createdAt];
export const sessionValues = (s: ConsoleSession): SqlValue[] => [s.idHash, s.username, s.csrfToken, s.createdAt, s.expiresAt];

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
