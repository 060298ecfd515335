/**
 * SLACK: a POST to a Slack incoming webhook (`https://hooks.slack.com/services/...`) with
 * Slack's documented `{ text, blocks }` JSON. Slack answers `200 ok`; errors come back as
 * 4xx with a short code in the body (400 invalid_payload, 403 action_prohibited,
 * 404 no_service / channel_not_found, 410 channel_is_archived), which are permanent, and
 * 429 / 500 rollup_error, which are retried.
 *
 * OCI says the title is not used for Slack. Herald shows it as a header block when the
 * publisher set one (an addition that costs nothing when absent); `text` stays the body,
 * since Slack uses it for the notification and as the fallback for clients without blocks.
 */
import type { Protocol } from '../../core/models.js';
import type { HttpClient } from '../http-client.js';
import { traceHeaders, type ProtocolHandler, type SendContext, type SendResult } from '../protocol.js';
import { bodyFor, permanentFailure, postForResult, truncate, withDetail } from './shared.js';

/** Block Kit limits: a section's text and a header's plain_text. */
const SECTION_TEXT_MAX = 3000;
const HEADER_TEXT_MAX = 150;
/** Slack truncates message text past 40,000 characters; blocks are capped at 50. */
const TEXT_MAX = 40_000;
const MAX_SECTIONS = 45;

export interface SlackDeps {
  client: HttpClient;
  now?: () => number;
}

type Block = Record<string, unknown>;

/** mrkdwn treats only these three as control characters (Slack "Escaping text"). */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Splits text into mrkdwn sections that each fit Slack's limit after escaping. */
function sections(text: string): Block[] {
  const out: Block[] = [];
  let current = '';
  for (const ch of text) {
    const piece = escapeMrkdwn(ch);
    if (current.length + piece.length > SECTION_TEXT_MAX) {
      out.push(section(current));
      current = '';
      if (out.length === MAX_SECTIONS) return out;
    }
    current += piece;
  }
  if (current !== '' || out.length === 0) out.push(section(current === '' ? ' ' : current));
  return out;
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

/** Slack's payload for a message: exported so tests and docs can show the exact shape. */
export function slackMessagePayload(title: string | null, body: string, topicName: string, unsubscribeUrl: string): Record<string, unknown> {
  const blocks: Block[] = [];
  if (title !== null && title !== '') {
    blocks.push({ type: 'header', text: { type: 'plain_text', text: truncate(title, HEADER_TEXT_MAX), emoji: true } });
  }
  blocks.push(...sections(body));
  blocks.push(context(`Sent to the topic ${escapeMrkdwn(topicName)} · <${unsubscribeUrl}|Unsubscribe>`));
  return { text: escapeMrkdwn(truncate(body, TEXT_MAX)), blocks };
}

export function slackConfirmationPayload(topicName: string, topicId: string, confirmationUrl: string): Record<string, unknown> {
  const topic = `${escapeMrkdwn(topicName)} (Topic OCID: ${topicId})`;
  // The plain URL is in `text` too: it is what the notification shows, and what OCI's docs tell users to look for.
  const text = `You have chosen to subscribe to the topic ${topic}. To confirm the subscription, visit ${confirmationUrl}`;
  return {
    text,
    blocks: [
      section(`You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit <${confirmationUrl}|this link>.`),
      context('If this was in error, no action is required.'),
    ],
  };
}

export class SlackHandler implements ProtocolHandler {
  readonly protocols: readonly Protocol[] = ['SLACK'];
  readonly #now: () => number;

  constructor(private readonly deps: SlackDeps) {
    this.#now = deps.now ?? Date.now;
  }


  async send(ctx: SendContext): Promise<SendResult> {
    let payload: Record<string, unknown>;
    if (ctx.kind === 'CONFIRMATION') {
      if (ctx.confirmationUrl === null) return permanentFailure('Confirmation send without a confirmation URL.');
      payload = slackConfirmationPayload(ctx.topic.name, ctx.topic.id, ctx.confirmationUrl);
    } else {
      if (ctx.message === null) return permanentFailure('Message send without a message.');
      payload = slackMessagePayload(ctx.message.title, bodyFor(ctx.message, 'SLACK'), ctx.topic.name, ctx.unsubscribeUrl);
    }
    const result = await postForResult(
      this.deps.client,
      ctx.subscription.endpoint,
      { headers: { 'Content-Type': 'application/json; charset=utf-8', ...traceHeaders(ctx) }, body: JSON.stringify(payload), signal: ctx.signal },
      this.#now,
    );
    if (result.ok) return { ...result, reply: result.responseExcerpt ?? 'ok' };
    // Slack's error body is a bare code such as `no_service`: the most useful part of the trace.
    return withDetail(result, result.responseExcerpt?.trim().slice(0, 200));
  }

  async close(): Promise<void> {
    await this.deps.client.close();
  }
}
