/** Helpers every protocol adapter needs: the body for a protocol, texts, HTTP plumbing. */
import type { Message, Protocol, Topic } from '../../core/models.js';
import type { HttpClient, PostOptions } from '../http-client.js';
import { httpOutcome } from '../http-outcome.js';
import type { SendResult } from '../protocol.js';

/**
 * The deprecated `messageType: JSON` carries one body per protocol plus a required
 * `default` (e.g. `{"default":"Alarm breached","Email":"Alarm breached: <url>"}`), like
 * SNS's MessageStructure=json. Keys are matched case-insensitively; OCI's exact key
 * spelling per protocol is undocumented, so each protocol accepts its obvious names.
 */
const VARIANT_KEYS: Record<Protocol, readonly string[]> = {
  CUSTOM_HTTPS: ['custom_https', 'https', 'http'],
  HTTPS: ['https', 'custom_https', 'http'],
  EMAIL: ['email'],
  SLACK: ['slack'],
  PAGERDUTY: ['pagerduty'],
  SMS: ['sms'],
  ORACLE_FUNCTIONS: ['oracle_functions', 'functions'],
};

export function bodyFor(message: Message, protocol: Protocol): string {
  if (message.messageType !== 'JSON') return message.body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.body);
  } catch {
    return message.body;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return message.body;
  const entries = Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v] as const);
  for (const key of [...VARIANT_KEYS[protocol], 'default']) {
    const hit = entries.find(([k]) => k === key);
    if (hit && typeof hit[1] === 'string') return hit[1];
  }
  return message.body;
}

/** The last timestamp formatted: thousands of deliveries a second share each millisecond's. */
let lastStamp = { ms: Number.NaN, text: '' };

/** `2019-04-19T21:26:00.310+0000`: the shape of OCI's X-OCI-NS-Timestamp (UTC, millis, +0000). */
export function ociTimestamp(ms: number): string {
  if (ms !== lastStamp.ms) lastStamp = { ms, text: new Date(ms).toISOString().replace('Z', '+0000') };
  return lastStamp.text;
}

/** Cuts to at most `max` UTF-16 units with an ellipsis, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

export function confirmationText(topic: Topic, confirmationUrl: string): string {
  return (
    `You have chosen to subscribe to the topic ${topic.name} (Topic OCID: ${topic.id}). ` +
    `To confirm the subscription, visit the ConfirmationURL: ${confirmationUrl} ` +
    'If this was in error, no action is required.'
  );
}

/** A failure for a send that can never work as asked (bad input or configuration). */
export function permanentFailure(error: string): SendResult {
  return { ok: false, retryable: false, error };
}

/** POSTs and classifies; a transport error is an outcome too, never a throw. */
export async function postForResult(client: HttpClient, url: string | URL, opts: PostOptions, now: () => number): Promise<SendResult> {
  try {
    const answer = await client.post(url, opts);
    return httpOutcome({ answer }, now());
  } catch (error) {
    return httpOutcome({ error }, now());
  }
}

/** Appends a receiver's own explanation (Slack's `no_service`, Twilio's error text) to a failure. */
export function withDetail(result: SendResult, detail: string | undefined): SendResult {
  if (result.ok || detail === undefined || detail === '') return result;
  return { ...result, error: `${result.error}: ${detail}` };
}

/** Parses a JSON excerpt if it is whole; excerpts are cut, so failure is expected and fine. */
export function tryJson(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
