import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import type { MailRecord } from '../../src/core/deliveries.js';
import { DevMailbox, SmtpMailSink } from '../../src/delivery/mail-sink.js';
import { EmailHandler, emailFooter } from '../../src/delivery/protocols/email.js';
import type { SendResult } from '../../src/delivery/protocol.js';
import { CONFIRM_URL, SUB_ID, TOPIC_ID, UNSUBSCRIBE_URL, confirmationCtx, message, messageCtx, subscription, topic } from './fixtures.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server (smtp-server) with AUTH, that can refuse recipients with a chosen reply. */
async function smtpServer(refuse: (rcpt: string) => { code: number; text: string } | null = () => null) {
  const received: Received[] = [];
  const server = new SMTPServer({
    hideSTARTTLS: true, // plain SMTP on loopback: no certificate to trust in tests
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'herald' && auth.password === 's3cret') cb(null, { user: 'herald' });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      const no = refuse(address.address);
      cb(no ? Object.assign(new Error(no.text), { responseCode: no.code }) : null);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb(null, 'OK: queued as TEST123');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Just enough RFC 5322/MIME parsing for what nodemailer sends: unfolded headers and a decoded text body. */
function parse(raw: string): { headers: Map<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(split + 4);
  const cte = headers.get('content-transfer-encoding');
  if (cte === 'quoted-printable') {
    body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } else if (cte === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { headers, text: body.replace(/\r\n/g, '\n') };
}

function failure(result: SendResult): Extract<SendResult, { ok: false }> {
  assert.equal(result.ok, false);
  return result as Extract<SendResult, { ok: false }>;
}

describe('EMAIL over SMTP', () => {
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let handler: EmailHandler;
  before(async () => {
    smtp = await smtpServer((rcpt) => {
      if (rcpt.startsWith('gone@')) return { code: 550, text: '5.1.1 No such user' };
      if (rcpt.startsWith('later@')) return { code: 451, text: '4.7.1 Greylisted, try again later' };
      return null;
    });
    handler = new EmailHandler({ mailSink: new SmtpMailSink(`smtp://herald:s3cret@127.0.0.1:${smtp.port}`, { timeoutMs: 5000 }), mailFrom: 'herald@example.com' });
  });
  after(async () => {
    await handler.close();
    await handler.close(); // idempotent
    await smtp.close();
  });

  it('sends the title as subject, the body with OCI\'s footer, and the unsubscribe headers', async () => {
    const msg = message('Order 1234 shipped.\nTracking: ZX-1', { title: 'Order shipped' });
    const result = await handler.send(messageCtx(subscription('EMAIL', 'ops@example.com'), msg));
    assert.deepEqual(result, { ok: true, reply: '250 OK: queued as TEST123' });

    const mail = smtp.received.at(-1);
    assert.ok(mail);
    assert.equal(mail.from, 'herald@example.com');
    assert.deepEqual(mail.to, ['ops@example.com']);
    const { headers, text } = parse(mail.raw);
    assert.equal(headers.get('subject'), 'Order shipped');
    assert.equal(headers.get('from'), 'herald@example.com');
    assert.equal(headers.get('to'), 'ops@example.com');
    assert.equal(headers.get('list-unsubscribe'), `<${UNSUBSCRIBE_URL}>`);
    assert.equal(headers.get('x-oci-ns-messageid'), msg.id);
    assert.equal(headers.get('x-oci-ns-topicocid'), TOPIC_ID);
    assert.equal(headers.get('x-oci-ns-topicname'), 'orders-events');
    assert.equal(
      text.trimEnd(),
      'Order 1234 shipped.\nTracking: ZX-1\n\n--\n' +
        `You are receiving notifications as a subscriber to the topic: orders-events (Topic OCID: ${TOPIC_ID}).\n` +
        `To stop receiving notifications from this topic, unsubscribe: ${UNSUBSCRIBE_URL}\n\n` +
        'Please do not reply directly to this email. If you have any questions or comments regarding this email, contact your account administrator.',
    );
  });

  it('falls back to the topic name as subject', async () => {
    await handler.send(messageCtx(subscription('EMAIL', 'ops@example.com'), message('no title')));
    assert.equal(parse(smtp.received.at(-1)?.raw ?? '').headers.get('subject'), 'orders-events');
  });

  it('confirmation mail says "To confirm this subscription" and carries the link', async () => {
    const result = await handler.send(confirmationCtx(subscription('EMAIL', 'new@example.com', { confirmationExpiresAt: Date.UTC(2030, 0, 4) })));
    assert.equal(result.ok, true);
    const { headers, text } = parse(smtp.received.at(-1)?.raw ?? '');
    assert.match(text, /To confirm this subscription, click or visit the link below/);
    assert.ok(text.includes(`\n${CONFIRM_URL}\n`));
    assert.ok(text.includes('2030-01-04T00:00:00.000Z'));
    assert.equal(headers.get('x-oci-ns-subscriptionid'), SUB_ID);
    assert.equal(headers.get('x-oci-ns-messagetype'), 'SubscriptionConfirmation');
  });

  it('RCPT 550 is permanent, 451 is retried, both with the server\'s reply', async () => {
    const gone = failure(await handler.send(messageCtx(subscription('EMAIL', 'gone@example.com'), message('x'))));
    assert.equal(gone.retryable, false);
    assert.match(gone.reply ?? '', /^550 5\.1\.1 No such user/);
    const later = failure(await handler.send(messageCtx(subscription('EMAIL', 'later@example.com'), message('x'))));
    assert.equal(later.retryable, true);
    assert.match(later.reply ?? '', /^451 4\.7\.1 Greylisted/);
  });

  it('a wrong password (535) is permanent', async () => {
    const wrong = new EmailHandler({ mailSink: new SmtpMailSink(`smtp://herald:nope@127.0.0.1:${smtp.port}`), mailFrom: 'herald@example.com' });
    try {
      const r = failure(await wrong.send(messageCtx(subscription('EMAIL', 'ops@example.com'), message('x'))));
      assert.equal(r.retryable, false);
      assert.match(r.reply ?? '', /^535/);
    } finally {
      await wrong.close();
    }
  });

  it('an unreachable SMTP server is retried', async () => {
    const down = await smtpServer();
    const port = down.port;
    await down.close();
    const unreachable = new EmailHandler({ mailSink: new SmtpMailSink(`smtp://127.0.0.1:${port}`, { timeoutMs: 2000 }), mailFrom: 'herald@example.com' });
    try {
      const r = failure(await unreachable.send(messageCtx(subscription('EMAIL', 'ops@example.com'), message('x'))));
      assert.equal(r.retryable, true);
      assert.match(r.error, /ECONNREFUSED|ECONNECTION|ESOCKET/);
    } finally {
      await unreachable.close();
    }
  });
});

describe('EMAIL into the dev mailbox', () => {
  it('stores the same mail and reports its id', async () => {
    const stored: Array<Omit<MailRecord, 'id'>> = [];
    const mailbox = new DevMailbox(async (mail) => {
      stored.push(mail);
      return { ...mail, id: 42 };
    }, () => 1_700_000_000_000);
    const handler = new EmailHandler({ mailSink: mailbox, mailFrom: 'herald@localhost' });
    const result = await handler.send(messageCtx(subscription('EMAIL', 'dev@example.com'), message('hello', { title: 'Hi' })));
    assert.deepEqual(result, { ok: true, reply: 'stored in dev mailbox #42' });
    const [mail] = stored;
    assert.ok(mail);
    assert.equal(mail.createdAt, 1_700_000_000_000);
    assert.deepEqual([mail.from, mail.to, mail.subject], ['herald@localhost', 'dev@example.com', 'Hi']);
    assert.equal(mail.text, `hello\n\n${emailFooter(topic(), UNSUBSCRIBE_URL)}`);
    assert.equal(mail.headers['List-Unsubscribe'], `<${UNSUBSCRIBE_URL}>`);
    await handler.close();
  });

  it('a failing store is a retryable failure', async () => {
    const handler = new EmailHandler({ mailSink: new DevMailbox(() => Promise.reject(new Error('database is locked'))), mailFrom: 'h@localhost' });
    const r = failure(await handler.send(messageCtx(subscription('EMAIL', 'dev@example.com'), message('x'))));
    assert.deepEqual([r.retryable, r.error], [true, 'database is locked']);
  });
});
