import type { Command } from 'commander';
import { printObject, printRows } from '../output.js';
import { addClientOptions } from '../options.js';
import { withClient } from '../run.js';

type Row = Record<string, unknown>;

export function registerDeliveryCommands(program: Command): void {
  const message = program.command('message').description('Published messages');
  addClientOptions(message.command('get').argument('<messageId>').description("A message with each subscription's delivery state and attempts")).action(
    async (id: string, opts: Row) =>
      withClient(opts, async (client, format) => {
        const m = await client.call<{ deliveries: Row[] } & Row>('GET', `/herald/v1/messages/${encodeURIComponent(id)}`);
        if (format === 'json') return printObject(m);
        process.stdout.write(`message ${String(m.id)} on ${String(m.topicId)} at ${String(m.timePublished)}\n`);
        printRows(m.deliveries, ['kind', 'protocol', 'endpoint', 'state', 'attempts', 'timeNextAttempt', 'lastStatus', 'lastError'], format);
      }),
  );

  const dead = program.command('dead-letters').description('Deliveries whose retry window closed');
  addClientOptions(dead.command('list').option('--topic <ocid>').option('--subscription <ocid>').option('--limit <n>', 'at most this many', '100')).action(async (opts: Row) =>
    withClient(opts, async (client, format) => {
      const q = new URLSearchParams();
      if (opts.topic) q.set('topicId', String(opts.topic));
      if (opts.subscription) q.set('subscriptionId', String(opts.subscription));
      q.set('limit', String(opts.limit));
      const rows = await client.call<Row[]>('GET', `/herald/v1/deadLetters?${q.toString()}`);
      printRows(rows, ['id', 'kind', 'protocol', 'subscriptionId', 'messageId', 'attempts', 'lastStatus', 'lastError', 'timeUpdated'], format);
    }),
  );
  addClientOptions(
    dead
      .command('redrive')
      .description('Send dead letters again, with a fresh retry window')
      .option('--delivery-id <id...>', 'specific dead letters')
      .option('--topic <ocid>', 'every dead letter of a topic')
      .option('--subscription <ocid>', 'every dead letter of a subscription'),
  ).action(async (opts: Row) =>
    withClient(opts, async (client, format) => {
      const res = await client.call<{ redriven: number }>('POST', '/herald/v1/deadLetters/actions/redrive', {
        deliveryIds: opts.deliveryId as string[] | undefined,
        topicId: opts.topic as string | undefined,
        subscriptionId: opts.subscription as string | undefined,
      });
      if (format === 'json') printObject(res);
      else process.stdout.write(`re-driven: ${res.redriven}\n`);
    }),
  );

  const mail = program.command('mail').description('The dev mailbox (email kept when no SMTP server is configured)');
  addClientOptions(mail.command('list').option('--to <address>').option('--limit <n>', 'at most this many', '20')).action(async (opts: Row) =>
    withClient(opts, async (client, format) => {
      const q = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.to) q.set('to', String(opts.to));
      const rows = await client.call<Row[]>('GET', `/herald/v1/mailbox?${q.toString()}`);
      if (format === 'json') return printObject(rows);
      for (const m of rows) process.stdout.write(`--- #${String(m.id)} ${String(m.timeCreated)}\nTo: ${String(m.to)}\nSubject: ${String(m.subject)}\n\n${String(m.text)}\n\n`);
    }),
  );
}
