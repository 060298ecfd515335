/**
 * EMAIL: the title is the subject (OCI: "The title specifies the subject line"), the body
 * is the raw message followed by OCI's footer (reference §6). The mail goes to a MailSink
 * (SMTP or the dev mailbox), which reports the server's reply line for the trace.
 */
import type { Protocol, Subscription, Topic } from '../../core/models.js';
import { MailSendError } from '../mail-sink.js';
import type { MailSink, OutgoingMail } from '../mail-sink.js';
import type { ProtocolHandler, SendContext, SendResult } from '../protocol.js';
import { describeError } from '../http-outcome.js';
import { bodyFor, permanentFailure } from './shared.js';

export interface EmailDeps {
  mailSink: MailSink;
  mailFrom: string;
}

export function emailFooter(topic: Topic, unsubscribeUrl: string): string {
  return (
    '--\n' +
    `You are receiving notifications as a subscriber to the topic: ${topic.name} (Topic OCID: ${topic.id}).\n` +
    `To stop receiving notifications from this topic, unsubscribe: ${unsubscribeUrl}\n` +
    '\n' +
    'Please do not reply directly to this email. If you have any questions or comments regarding this email, contact your account administrator.\n'
  );
}

export function emailForMessage(ctx: SendContext & { message: NonNullable<SendContext['message']> }, from: string): OutgoingMail {
  const { message, topic } = ctx;
  const title = message.title !== null && message.title !== '' ? message.title : topic.name;
  return {
    owner: { tenancyId: ctx.subscription.tenancyId, topicId: topic.id },
    from,
    to: ctx.subscription.endpoint,
    // A subject is one line; a title with newlines would otherwise be folded into headers.
    subject: title.replace(/\s*[\r\n]+\s*/g, ' '),
    text: `${bodyFor(message, 'EMAIL')}\n\n${emailFooter(topic, ctx.unsubscribeUrl)}`,
    headers: {
      // RFC 2369 wants the URL in angle brackets; mail clients then show an unsubscribe button.
      'List-Unsubscribe': `<${ctx.unsubscribeUrl}>`,
      'X-OCI-NS-MessageId': message.id,
      'X-OCI-NS-TopicOcid': topic.id,
      'X-OCI-NS-TopicName': topic.name,
      'X-OCI-NS-MessageType': 'Notification',
      'X-OCI-NS-UnsubscribeURL': ctx.unsubscribeUrl,
    },
  };
}

export function emailForConfirmation(sub: Subscription, topic: Topic, confirmationUrl: string, from: string): OutgoingMail {
  const expires = sub.confirmationExpiresAt === null ? '' : `\nThe link expires at ${new Date(sub.confirmationExpiresAt).toISOString()}.\n`;
  return {
    owner: { tenancyId: sub.tenancyId, topicId: topic.id },
    from,
    to: sub.endpoint,
    subject: `Subscription confirmation for the topic ${topic.name}`,
    text:
      `You have chosen to subscribe to the topic: ${topic.name} (Topic OCID: ${topic.id}).\n\n` +
      'To confirm this subscription, click or visit the link below (if this was in error, no action is required):\n' +
      `${confirmationUrl}\n${expires}\n` +
      'Please do not reply directly to this email.\n',
    headers: {
      'X-OCI-NS-MessageType': 'SubscriptionConfirmation',
      'X-OCI-NS-SubscriptionId': sub.id,
      'X-OCI-NS-TopicOcid': topic.id,
      'X-OCI-NS-TopicName': topic.name,
      'X-OCI-NS-ConfirmationURL': confirmationUrl,
    },
  };
}

export class EmailHandler implements ProtocolHandler {
  readonly protocols: readonly Protocol[] = ['EMAIL'];

  constructor(private readonly deps: EmailDeps) {}


  async send(ctx: SendContext): Promise<SendResult> {
    let mail: OutgoingMail;
    if (ctx.kind === 'CONFIRMATION') {
      if (ctx.confirmationUrl === null) return permanentFailure('Confirmation send without a confirmation URL.');
      mail = emailForConfirmation(ctx.subscription, ctx.topic, ctx.confirmationUrl, this.deps.mailFrom);
    } else {
      const message = ctx.message;
      if (message === null) return permanentFailure('Message send without a message.');
      mail = emailForMessage({ ...ctx, message }, this.deps.mailFrom);
    }
    try {
      const { reply } = await this.deps.mailSink.send(mail, ctx.signal);
      return { ok: true, reply };
    } catch (err) {
      if (err instanceof MailSendError) {
        return { ok: false, retryable: err.retryable, error: err.message, ...(err.reply ? { reply: err.reply } : {}) };
      }
      return { ok: false, retryable: true, error: describeError(err) };
    }
  }

  /** The sink is handed over to this handler: closing the registry closes it. */
  async close(): Promise<void> {
    await this.deps.mailSink.close();
  }
}
