/** The console's API client: same endpoints as the SDKs, authenticated by the session cookie + CSRF header. */
export const OCI = '/20181201';
export const HERALD = '/herald/v1';

let csrfToken = '';
let onSignedOut: () => void = () => undefined;

export function setCsrf(token: string): void {
  csrfToken = token;
}

export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  body?: unknown;
  /** Sent as-is (not JSON-encoded) when a string. */
  raw?: string;
  headers?: Record<string, string>;
  /** Read the answer as text instead of JSON. */
  text?: boolean;
}

export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const text = await res.text();
  if (!res.ok) {
    let code = 'Error';
    let message = text || res.statusText;
    try {
      const j = JSON.parse(text) as { code?: string; message?: string };
      code = j.code ?? code;
      message = j.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    if (res.status === 401 && !path.endsWith('/console/session')) onSignedOut();
    throw new ApiError(res.status, code, message);
  }
  if (opts.text === true) return text as T;
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);

export interface Topic {
  topicId: string;
  name: string;
  description?: string;
  lifecycleState: string;
  timeCreated: string;
  etag: string;
}

export interface Subscription {
  id: string;
  topicId: string;
  protocol: string;
  endpoint: string;
  lifecycleState: string;
  deliveryPolicy?: { backoffRetryPolicy: { maxRetryDuration: number } };
}

export interface Attempt {
  attempt: number;
  timeStarted: string | null;
  durationMs: number | null;
  outcome: string;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
}

export interface Delivery {
  id: string;
  /** MESSAGE, or CONFIRMATION (the subscription's confirmation request, which carries no message). */
  kind?: 'MESSAGE' | 'CONFIRMATION';
  subscriptionId: string;
  topicId: string;
  /** null for a CONFIRMATION delivery. */
  messageId: string | null;
  protocol: string;
  state: string;
  attempts: number;
  timeNextAttempt: string | null;
  lastError: string | null;
  lastStatus: number | null;
  timeDelivered: string | null;
  /** Start of the retry window: the delivery's creation, or its last re-drive. */
  timeWindowStart?: string | null;
  timeUpdated?: string | null;
  endpoint?: string | null;
  attemptHistory?: Attempt[];
}

export interface MessageTrace {
  id: string;
  topicId: string;
  title: string | null;
  body: string;
  timePublished: string;
  deliveries: Delivery[];
}

/** GET /herald/v1/topics/{topicId}/messages: newest first, body cut to 200 characters. */
export interface RecentMessage {
  id: string;
  title: string | null;
  body: string;
  timePublished: string;
}

/** GET /herald/v1/topicStats: live subscriptions and messages of the last 24 hours, per topic. */
export type TopicStats = Record<string, { subscriptions: number; recentMessages: number }>;

/** POST /herald/v1/deadLetters/actions/redrive: how many dead deliveries went back to PENDING. */
export interface RedriveResult {
  redriven: number;
}

/** GET /herald/v1/console/stats?range=hour|day: stored history, one point per bucket, oldest first. */
export type StatsRange = 'hour' | 'day';

export interface StatsPoint {
  /** Bucket start, epoch ms. */
  t: number;
  published: number;
  /** Notification deliveries only; confirmation handshakes are `confirmations`. */
  delivered: number;
  failedAttempts: number;
  deadLetters: number;
  confirmations: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface TopicHealth {
  topicId: string;
  name: string;
  published: number;
  delivered: number;
  failedAttempts: number;
  successRate: number | null;
  backlog: number;
  oldestPendingAt: number | null;
}

export interface Stats {
  range: StatsRange;
  bucketSeconds: number;
  from: number;
  to: number;
  points: StatsPoint[];
  /** Busiest first, at most 50. */
  topics: TopicHealth[];
}

// --- Delivery control (/herald/v1/subscriptions/{id}/...): filter policy, rate limit, health, enable, replay ---

export type HealthState = 'HEALTHY' | 'FAILING' | 'DISABLED';

/** GET /herald/v1/subscriptions/{id}/health (and the answer of actions/enable). */
/** One row of GET /herald/v1/topics/{id}/subscriptionHealth: the badge of a subscription. */
export interface HealthSummary {
  subscriptionId: string;
  state: HealthState;
  since: string | null;
  consecutiveFailures: number;
  lastError: string | null;
}

export interface SubscriptionHealth {
  subscriptionId: string;
  state: HealthState;
  /** When the state began; null when HEALTHY. */
  since: string | null;
  timeFailingSince: string | null;
  timeDisabled: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastFailure: { time: string | null; statusCode: number | null; error: string } | null;
  /** Deliveries held (not attempted, not lost) while the subscription is disabled. */
  heldDeliveries: number;
  /** The server's --endpoint-disable-after, such as "5d". */
  disableAfter: string;
}

/** GET/PUT /herald/v1/subscriptions/{id}/filterPolicy: an SNS filter policy, or null for none. */
export interface FilterPolicyAnswer {
  subscriptionId: string;
  filterPolicy: unknown;
}

/** POST /herald/v1/filterPolicy/actions/test. */
export interface FilterTestResult {
  matches: boolean;
}

/** GET/PUT /herald/v1/subscriptions/{id}/rateLimit: deliveries per second, null when unlimited. */
export interface RateLimitAnswer {
  subscriptionId: string;
  perSecond: number | null;
}

/** POST /herald/v1/subscriptions/{id}/actions/replay (202): how many deliveries were queued. */
export interface ReplayResult {
  replayed: number;
}

export const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();
export const enc = encodeURIComponent;

export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

// --- OCI Identity (/20160918): users, groups, policies, compartments ---

export const IDENTITY = '/20160918';

export interface IamUser {
  id: string;
  name: string;
  description: string;
  email?: string;
  lifecycleState: string;
  timeCreated: string;
}

export interface IamGroup {
  id: string;
  name: string;
  description: string;
  lifecycleState: string;
  timeCreated: string;
}

export interface Membership {
  id: string;
  userId: string;
  groupId: string;
  lifecycleState: string;
  timeCreated: string;
}

export interface ApiKey {
  keyId: string;
  fingerprint: string;
  timeCreated: string;
  lifecycleState: string;
}

export interface Policy {
  id: string;
  compartmentId: string;
  name: string;
  description: string;
  statements: string[];
  lifecycleState: string;
  timeCreated: string;
}

export interface Compartment {
  id: string;
  /** The parent's id (the root's is its own). */
  compartmentId: string;
  name: string;
  lifecycleState: string;
}

/**
 * Identity query strings: each value percent-encoded on its own (Identity routes read the raw query and never turn
 * `+` into a space, so URLSearchParams' form encoding would not do).
 */
export const iq = (params: Record<string, string>): string =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');

/** OCI answers a refused call exactly like a missing resource: 404 NotAuthorizedOrNotFound. */
export const isRefusal = (e: unknown): boolean => e instanceof ApiError && e.status === 404 && e.code === 'NotAuthorizedOrNotFound';

export const NOT_ALLOWED_TO_SEE = 'You are not allowed to see this.';

/** For a failed read: the refusal in plain words, anything else as the server said it. */
export const readError = (e: unknown): string => (isRefusal(e) ? NOT_ALLOWED_TO_SEE : errorText(e));

/** For a failed change: the server's code and message; a refusal says so first. */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return String(e);
  if (isRefusal(e)) return `Not allowed or not found (${e.code}): ${e.message}`;
  return `${e.code}: ${e.message}`;
}
