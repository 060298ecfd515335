/**
 * Where EMAIL deliveries go: a real SMTP server, or, when none is configured, the dev
 * mailbox in Herald's own store (readable through the console), so a fresh install can
 * exercise email subscriptions end to end without any mail infrastructure.
 */
import { createTransport } from 'nodemailer';
import type { NodemailerError } from 'nodemailer';
import type { MailRecord } from '../core/deliveries.js';

export interface OutgoingMail {
  /** Whose mail it is: kept by the dev mailbox (each tenancy reads only its own), never sent. */
  owner: { tenancyId: string; topicId: string };
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
}

export interface MailSink {
  /**
   * Resolves with the server's reply (e.g. `250 OK: queued as …`). Rejects with a
   * `MailSendError` when the outcome is known; any other rejection counts as retryable.
   */
  send(mail: OutgoingMail, signal?: AbortSignal): Promise<{ reply: string }>;
  close(): Promise<void>;
}

/** A refused or failed send, classified for the retry policy. */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The SMTP reply line, when the server gave one. */
    readonly reply?: string,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}

export interface SmtpMailSinkOptions {
  /** Connect, greeting and idle-socket timeout. */
  timeoutMs?: number;
  /** Concurrent SMTP connections kept open. */
  maxConnections?: number;
}

/**
 * nodemailer over a pooled SMTP connection set, configured by a URL such as
 * `smtp://user:pass@host:587` or `smtps://…:465` (nodemailer reads TLS options from its
 * query string too). The host is operator configuration, so no SSRF guard applies.
 */
export class SmtpMailSink implements MailSink {
  readonly #transport;
  #closed = false;

  constructor(url: string, options: SmtpMailSinkOptions = {}) {
    const timeout = options.timeoutMs ?? 30_000;
    this.#transport = createTransport({
      url,
      pool: true,
      maxConnections: options.maxConnections ?? 5,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(mail: OutgoingMail, signal?: AbortSignal): Promise<{ reply: string }> {
    try {
      const { owner: _owner, ...message } = mail;
      const info = await this.#transport.sendMail({ ...message, ...(signal ? { signal } : {}) });
      return { reply: info.response };
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }
}

/**
 * RFC 5321: 5yz is a permanent rejection (dead-letter now, re-drivable later), 4yz is
 * transient. nodemailer already classifies the reply code (`permanent`, with 503 "bad
 * sequence" treated as transient); an error with no SMTP reply at all is a connection
 * problem and is retried.
 */
export function classifySmtpError(err: unknown): MailSendError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodemailerError;
  const message = err instanceof Error ? err.message : String(err);
  const reply = e.response?.trim();
  if (typeof e.responseCode === 'number') {
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return new MailSendError(message, !permanent, reply);
  }
  return new MailSendError(e.code !== undefined && !message.includes(e.code) ? `${e.code}: ${message}` : message, true, reply);
}

/** The store's `insertMail`. */
export type InsertMail = (mail: Omit<MailRecord, 'id'>) => Promise<MailRecord>;

/** Keeps mail in Herald's own store instead of sending it. */
export class DevMailbox implements MailSink {
  constructor(
    private readonly insert: InsertMail,
    private readonly now: () => number = Date.now,
  ) {}

  async send(mail: OutgoingMail): Promise<{ reply: string }> {
    const { owner, ...message } = mail;
    const record = await this.insert({ ...message, tenancyId: owner.tenancyId, topicId: owner.topicId, createdAt: this.now() });
    return { reply: `stored in dev mailbox #${record.id}` };
  }

  async close(): Promise<void> {}
}
