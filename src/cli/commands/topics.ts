import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { enc, listAll, ONS, resolveTopic, withOns, type Row } from '../resolve.js';

const TOPIC_COLUMNS = ['name', 'topicId', 'lifecycleState', 'timeCreated', 'description'];

export function registerTopicCommands(program: Command): void {
  const topic = program.command('topic').description('Notification topics (OCI Notifications control plane)');

  addClientOptions(
    topic
      .command('create')
      .description('Create a topic (names are unique in the tenancy)')
      .requiredOption('--name <name>', 'topic name')
      .option('--description <text>', 'what the topic is for')
      .option('--compartment <ocid>', 'compartment (default: the tenancy root compartment)'),
  ).action(async (opts: Row) =>
    withOns(opts, async ({ client }, format) => {
      const body = { name: opts.name, compartmentId: (opts.compartment as string | undefined) ?? client.tenancyId, description: opts.description };
      const t = await client.call<Row>('POST', `${ONS}/topics`, body);
      if (format === 'json') printObject(t);
      else process.stdout.write(`${String(t.topicId)}\n`);
    }),
  );

  addClientOptions(
    topic
      .command('list')
      .description('List every topic of a compartment')
      .option('--compartment <ocid>', 'compartment (default: the tenancy root compartment)'),
  ).action(async (opts: Row) =>
    withOns(opts, async (ons, format) => {
      const rows = await listAll(ons, `${ONS}/topics`, { compartmentId: (opts.compartment as string | undefined) ?? ons.client.tenancyId });
      printRows(rows, TOPIC_COLUMNS, format);
    }),
  );

  addClientOptions(
    topic.command('get').description('Show a topic').argument('<topic>', 'topic OCID or name').option('--compartment <ocid>', 'look the name up only in this compartment'),
  ).action(async (ref: string, opts: Row) =>
    withOns(opts, async (ons) => {
      const t = await resolveTopic(ons, ref, opts.compartment as string | undefined);
      // The list summary a name resolves to lacks the etag; the full GET has it.
      printObject(await ons.client.call<Row>('GET', `${ONS}/topics/${enc(String(t.topicId))}`));
    }),
  );

  addClientOptions(
    topic
      .command('update')
      .description("Change a topic's description (names cannot change)")
      .argument('<topic>', 'topic OCID or name')
      .requiredOption('--description <text>', 'the new description')
      .option('--compartment <ocid>', 'look the name up only in this compartment'),
  ).action(async (ref: string, opts: Row) =>
    withOns(opts, async (ons) => {
      const t = await resolveTopic(ons, ref, opts.compartment as string | undefined);
      printObject(await ons.client.call<Row>('PUT', `${ONS}/topics/${enc(String(t.topicId))}`, { description: opts.description }));
    }),
  );

  addClientOptions(
    topic
      .command('delete')
      .description('Delete a topic and its subscriptions')
      .argument('<topic>', 'topic OCID or name')
      .option('--compartment <ocid>', 'look the name up only in this compartment'),
  ).action(async (ref: string, opts: Row) =>
    withOns(opts, async (ons) => {
      const t = await resolveTopic(ons, ref, opts.compartment as string | undefined);
      await ons.client.call('DELETE', `${ONS}/topics/${enc(String(t.topicId))}`);
      process.stderr.write(`Deleted topic ${String(t.name)}\n`);
    }),
  );
}
