import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Caller } from '../api/auth/signature.js';
import type { Ports } from '../core/ports/index.js';
import type { ConsoleSession, ConsoleStore, ConsoleUser } from '../core/ports/console.js';

/** The console reads its logins and sessions, and the installation's bootstrap tenancy. */
type ConsolePorts = Pick<Ports, 'console' | 'settings'>;

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export const CONSOLE_USER = 'admin';
export const SESSION_COOKIE = 'herald_console';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const BOOTSTRAP_TENANCY_KEY = 'identity.bootstrapTenancyId';
/** The fingerprint a console caller carries instead of an API key's. */
export const CONSOLE_FINGERPRINT = 'console-session';

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const token = (): string => randomBytes(32).toString('base64url');

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Creates the console's `admin` login, acting as the bootstrap tenancy's admin
 * user, unless a console user exists. Returns the generated password (to log
 * once) or undefined when nothing was created.
 */
export async function ensureConsoleAdmin(store: ConsolePorts, password?: string): Promise<string | undefined> {
  if ((await store.console.countConsoleUsers()) > 0) return undefined;
  const tenancyId = await store.settings.getSetting(BOOTSTRAP_TENANCY_KEY);
  if (tenancyId === undefined) return undefined;
  const userId = await store.console.findUserIdByName(tenancyId, 'admin');
  if (userId === undefined) return undefined;
  const plain = password ?? randomBytes(18).toString('base64url');
  const user: ConsoleUser = { username: CONSOLE_USER, passwordHash: await hashPassword(plain), tenancyId, userId, createdAt: Date.now() };
  return (await store.console.insertConsoleUserIfAbsent(user)) ? plain : undefined;
}

/**
 * Failed sign-ins per client address and user name: doubling backoff from 1 s up to 5 min, reset on success.
 * Not @fastify/rate-limit: it counts every request per fixed window, successes too, and cannot reset on success.
 */
class LoginThrottle {
  private readonly failures = new Map<string, { count: number; until: number }>();

  retryAfterMs(key: string, now: number): number {
    const f = this.failures.get(key);
    return f === undefined ? 0 : Math.max(0, f.until - now);
  }

  fail(key: string, now: number): void {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    // The first two failures are free (typos); then the wait doubles.
    const wait = count <= 2 ? 0 : Math.min(300_000, 1000 * 2 ** (count - 3));
    this.failures.set(key, { count, until: now + wait });
    if (this.failures.size > 10_000) this.failures.clear();
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}

export type LoginResult =
  | { ok: true; sessionId: string; session: ConsoleSession }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

/** Console sessions: a random id in an HttpOnly cookie (stored hashed) and a CSRF token bound to it. */
export class ConsoleAuth {
  private readonly throttle = new LoginThrottle();

  /** `clock` is read for session expiry and for sign-ins that pass no `now`; tests inject one. */
  constructor(
    private readonly store: ConsoleStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * `client` is the caller's address: failures are counted per client and user name, so wrong passwords sent from
   * elsewhere cannot lock the real admin out.
   */
  async login(username: string, password: string, opts: { client?: string; now?: number } = {}): Promise<LoginResult> {
    const now = opts.now ?? this.clock();
    const key = `${opts.client ?? ''}\u0000${username}`;
    const wait = this.throttle.retryAfterMs(key, now);
    if (wait > 0) return { ok: false, reason: 'throttled', retryAfterMs: wait };
    const user = await this.store.getConsoleUser(username);
    // Hash even for an unknown user, so timing does not tell which usernames exist.
    const valid = await verifyPassword(password, user?.passwordHash ?? 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    if (user === undefined || !valid) {
      this.throttle.fail(key, now);
      return { ok: false, reason: 'invalid' };
    }
    this.throttle.succeed(key);
    const sessionId = token();
    const session: ConsoleSession = { idHash: sha256(sessionId), username, csrfToken: token(), createdAt: now, expiresAt: now + SESSION_TTL_MS };
    await this.store.insertConsoleSession(session);
    return { ok: true, sessionId, session };
  }

  async session(sessionId: string | undefined): Promise<{ session: ConsoleSession; user: ConsoleUser } | undefined> {
    if (sessionId === undefined || sessionId === '') return undefined;
    const session = await this.store.getConsoleSession(sha256(sessionId), this.clock());
    if (session === undefined) return undefined;
    const user = await this.store.getConsoleUser(session.username);
    return user === undefined ? undefined : { session, user };
  }

  async logout(sessionId: string | undefined): Promise<void> {
    if (sessionId !== undefined && sessionId !== '') await this.store.deleteConsoleSession(sha256(sessionId));
  }

  /**
   * The caller for an API request carrying a session cookie, or an error kind:
   * 'no-session' (unknown/expired) or 'csrf' (state-changing without the session's token).
   */
  async callerFor(sessionId: string, method: string, csrfHeader: string | undefined): Promise<Caller | 'no-session' | 'csrf'> {
    const found = await this.session(sessionId);
    if (found === undefined) return 'no-session';
    const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
    if (!safe && (csrfHeader === undefined || !safeEqual(csrfHeader, found.session.csrfToken))) return 'csrf';
    return { tenancyId: found.user.tenancyId, userId: found.user.userId, fingerprint: CONSOLE_FINGERPRINT };
  }
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const SESSION_TTL_SECONDS = SESSION_TTL_MS / 1000;
