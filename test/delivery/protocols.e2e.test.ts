import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { eventually } from '../helpers/eventually.js';
import { heraldClient } from '../helpers/oci.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server (smtp-server) that keeps every message it accepts. */
async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: String(session.envelope.mailFrom && session.envelope.mailFrom.address), to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

/** Undo quoted-printable soft breaks and escapes enough to find links in a raw message. */
function plain(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function linkIn(text: string, kind: 'confirmation' | 'unsubscription'): string {
  const m = new RegExp(`https?://[^\\s"'<>]+/${kind}\\?token=[A-Za-z0-9_-]+&protocol=[A-Z_]+`).exec(text);
  assert.ok(m, `no ${kind} link in: ${text.slice(0, 2000)}`);
  return m[0];
}

for (const kind of KINDS) {
  describe(`EMAIL, SLACK, PAGERDUTY and SMS end to end (${kind})`, () => {
    let h: TestHerald;
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let rx: Receiver;
    let topicId: string;

    before(async () => {
      smtp = await startSmtp();
      rx = await new Receiver((r) => {
        if (r.path.includes('/Messages.json')) return { status: 201, body: JSON.stringify({ sid: 'SM' + r.at, status: 'queued' }), headers: { 'content-type': 'application/json' } };
        if (r.path === '/v2/enqueue') return { status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: 'x' }), headers: { 'content-type': 'application/json' } };
        return { status: 200, body: 'ok' };
      }).start();
      h = await startTestHerald(kind, {
        allowPrivateEndpoints: true,
        retryTimeScale: '0.001',
        smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
        smsBaseUrl: rx.url,
        smsAccountSid: 'AC123',
        smsAuthToken: 'secret-token',
        smsFrom: '+15550001111',
      });
      topicId = (await h.cp.createTopic({ createTopicDetails: { name: 'OrderProcessing', compartmentId: h.tenancyId } })).notificationTopic.topicId;
    });
    after(async () => {
      await h.stop();
      await rx.stop();
      await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    });

    const subscribe = async (protocol: string, endpoint: string): Promise<string> =>
      (await h.dp.createSubscription({ createSubscriptionDetails: { topicId, compartmentId: h.tenancyId, protocol, endpoint } })).subscription.id;

    async function confirmWith(url: string, id: string): Promise<void> {
      const res = await fetch(url);
      assert.equal(res.status, 200, await res.text());
      assert.equal((await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState, 'ACTIVE');
    }

    it('emails a confirmation, then the message with the title as subject and a working unsubscribe footer', async () => {
      const mailsTo = (to: string, subject: RegExp): Mail[] => smtp.mails.filter((m) => m.to.includes(to) && subject.test(m.raw));
      const id = await subscribe('EMAIL', 'supplier@example.com');
      const confirmation = await eventually(async () => smtp.mails.find((m) => m.to.includes('supplier@example.com')), 15_000, 'the confirmation email');
      const confText = plain(confirmation.raw);
      assert.match(confText, /To confirm this subscription/);
      await confirmWith(linkIn(confText, 'confirmation'), id);
      // A second subscriber on the topic: the witness for the check after the unsubscribe.
      const witnessId = await subscribe('EMAIL', 'witness@example.com');
      const witnessConf = await eventually(async () => smtp.mails.find((m) => m.to.includes('witness@example.com')), 15_000, 'the witness confirmation email');
      await confirmWith(linkIn(plain(witnessConf.raw), 'confirmation'), witnessId);

      await h.dp.publishMessage({ topicId, messageDetails: { title: 'New order 42', body: 'New Order has been placed: 42 by user: 7' } });
      const mail = await eventually(async () => mailsTo('supplier@example.com', /Subject: New order 42/)[0], 15_000, 'the message email');
      const text = plain(mail.raw);
      assert.deepEqual(mail.to, ['supplier@example.com']);
      assert.match(text, /New Order has been placed: 42 by user: 7/);
      assert.match(text, /You are receiving notifications as a subscriber to the topic: OrderProcessing/);
      const unsub = linkIn(text, 'unsubscription');
      const res = await fetch(unsub);
      assert.equal(res.status, 200);
      assert.equal((await h.dp.getSubscription({ subscriptionId: id })).subscription.lifecycleState, 'DELETED');

      const after = (await h.dp.publishMessage({ topicId, messageDetails: { title: 'After unsubscribe', body: 'nobody should get this' } })).publishResult.messageId;
      // Barrier, not a sleep. The topic is small, so every delivery of the message was created in its publish
      // transaction (inline fan-out) and its trace lists them all; the SMTP server stores a mail before it answers
      // 250, and Herald records an email DELIVERED only after that answer. So once the witness's copy arrived
      // and every delivery in the trace is finished, any mail this message was ever going to cause is in
      // smtp.mails, and a delivery to the unsubscribed address, had Herald made one, is in the trace.
      await eventually(async () => mailsTo('witness@example.com', /Subject: After unsubscribe/)[0], 15_000, "the witness's copy");
      const trace = await eventually(async () => {
        const t = await heraldClient(h).call<{ deliveries: { subscriptionId: string; state: string }[] }>('GET', `/herald/v1/messages/${after}`);
        return t.deliveries.every((d) => ['DELIVERED', 'DEAD', 'CANCELLED'].includes(d.state)) ? t : undefined;
      }, 15_000, 'every delivery of the message finished');
      assert.deepEqual(trace.deliveries.map((d) => [d.subscriptionId, d.state]), [[witnessId, 'DELIVERED']], 'delivered to the witness only');
      assert.deepEqual(
        smtp.mails.filter((m) => /Subject: After unsubscribe/.test(m.raw)).map((m) => m.to),
        [['witness@example.com']],
        'exactly one mail after the unsubscribe: the witness\'s; none to the unsubscribed address',
      );
      await h.dp.deleteSubscription({ subscriptionId: witnessId });
    });

    it('posts Slack incoming-webhook JSON', async () => {
      const id = await subscribe('SLACK', `${rx.url}/services/T000/B000/XXXX`);
      const conf = await eventually(async () => rx.requests.find((r) => r.path === '/services/T000/B000/XXXX'), 15_000, 'the Slack confirmation');
      const confJson = JSON.parse(conf.body) as { text: string; blocks: unknown[] };
      assert.match(confJson.text, /To confirm the subscription/);
      await confirmWith(linkIn(conf.body, 'confirmation'), id);
      await h.dp.publishMessage({ topicId, messageDetails: { title: 'ignored by slack', body: 'Order 43 shipped' } });
      const msg = await eventually(async () => rx.requests.find((r) => r.path === '/services/T000/B000/XXXX' && r.body.includes('Order 43 shipped')), 15_000, 'the Slack message');
      const json = JSON.parse(msg.body) as { text: string; blocks: { type: string }[] };
      assert.equal(typeof json.text, 'string');
      assert.ok(Array.isArray(json.blocks) && json.blocks.length > 0);
      assert.match(String(msg.headers['content-type']), /application\/json/);
    });

    it('triggers PagerDuty Events API v2 events with the message id as dedup_key', async () => {
      const id = await subscribe('PAGERDUTY', `${rx.url}/integration/R0UT1NGKEY/enqueue`);
      const conf = await eventually(async () => rx.requests.find((r) => r.path === '/v2/enqueue' && r.body.includes('Subscription Confirmation')), 15_000, 'the PagerDuty confirmation');
      await confirmWith(linkIn(conf.body, 'confirmation'), id);
      const pub = await h.dp.publishMessage({ topicId, messageDetails: { title: 'Disk full', body: 'db-1 is at 99%' } });
      const ev = await eventually(async () => rx.requests.find((r) => r.path === '/v2/enqueue' && r.body.includes(pub.publishResult.messageId)), 15_000, 'the PagerDuty event');
      const json = JSON.parse(ev.body) as { routing_key: string; event_action: string; dedup_key: string; payload: { summary: string; severity: string; source: string } };
      assert.equal(json.routing_key, 'R0UT1NGKEY');
      assert.equal(json.event_action, 'trigger');
      assert.equal(json.dedup_key, pub.publishResult.messageId);
      assert.equal(json.payload.summary, 'Disk full');
      assert.ok(json.payload.severity && json.payload.source);
    });

    it('sends SMS through the Twilio Messages API shape', async () => {
      const id = await subscribe('SMS', '+14255550100');
      const conf = await eventually(async () => rx.requests.find((r) => r.path === '/2010-04-01/Accounts/AC123/Messages.json'), 15_000, 'the SMS confirmation');
      const form = new URLSearchParams(conf.body);
      assert.equal(form.get('To'), '+14255550100');
      assert.equal(form.get('From'), '+15550001111');
      assert.equal(conf.headers.authorization, 'Basic ' + Buffer.from('AC123:secret-token').toString('base64'));
      await confirmWith(linkIn(form.get('Body') ?? '', 'confirmation'), id);
      await h.dp.publishMessage({ topicId, messageDetails: { title: 'Alert', body: 'x'.repeat(3000) } });
      const sms = await eventually(
        async () => rx.requests.find((r) => r.path.endsWith('/Messages.json') && (new URLSearchParams(r.body).get('Body') ?? '').includes('xxxx')),
        15_000,
        'the SMS',
      );
      assert.ok((new URLSearchParams(sms.body).get('Body') ?? '').length <= 1600);
    });

    it('keeps email in the dev mailbox when no SMTP server is configured', async () => {
      const dev = await startTestHerald(kind, { allowPrivateEndpoints: true });
      try {
        const t = (await dev.cp.createTopic({ createTopicDetails: { name: 'dev', compartmentId: dev.tenancyId } })).notificationTopic.topicId;
        await dev.dp.createSubscription({ createSubscriptionDetails: { topicId: t, compartmentId: dev.tenancyId, protocol: 'EMAIL', endpoint: 'dev@example.com' } });
        const mail = await eventually(async () => {
          const list = await heraldClient(dev).call<{ to: string; subject: string; text: string }[]>('GET', '/herald/v1/mailbox?to=dev@example.com');
          return list[0];
        }, 15_000, 'the dev mailbox');
        assert.match(mail.text, /To confirm this subscription/);
        assert.ok(mail.subject.length > 0);
      } finally {
        await dev.stop();
      }
    });
  });
}
