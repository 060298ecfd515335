import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { checkSubscriptionRef, enc, listAll, ONS, resolveTopic, withOns, type Row } from '../resolve.js';
import { checkFilterPolicy, putFilterPolicy, readFilterPolicy, registerDeliveryControlCommands, undoCreate } from './delivery-control.js';

const SUB_COLUMNS = ['id', 'protocol', 'endpoint', 'lifecycleState', 'topicId'];

function parseRetryDuration(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw usageError(`--max-retry-duration wants milliseconds, got "${String(raw)}".`);
  return n;
}

export function registerSubscriptionCommands(program: Command): void {
  const sub = program
    .command('subscription')
    .description("Subscriptions of topics (OCI Notifications data plane), and Herald's delivery controls: filter policies, rate limits, health, enable, replay");

  addClientOptions(
    sub
      .command('create')
      .description('Subscribe an endpoint to a topic (EMAIL, CUSTOM_HTTPS, SLACK, PAGERDUTY, SMS, ORACLE_FUNCTIONS)')
      .requiredOption('--topic <topic>', 'topic OCID or name')
      .requiredOption('--protocol <protocol>', 'e.g. EMAIL, CUSTOM_HTTPS, ORACLE_FUNCTIONS')
      // Not --endpoint: every command's --endpoint is the Herald server (as in the OCI CLI, which names this --subscription-endpoint too).
      .requiredOption('--subscription-endpoint <endpoint>', 'email address, URL, phone number or function OCID')
      .option('--max-retry-duration <ms>', 'how long failed deliveries are retried, in milliseconds (default 7200000)')
      .option('--compartment <ocid>', "the subscription's compartment (default: the topic's)")
      .option('--filter-policy <policy>', 'deliver only messages this SNS filter policy passes: JSON, or @file to read it from a file'),
  ).action(async (opts: Row) =>
    withOns(opts, async (ons, format) => {
      // Checked before anything is created, so a typo does not leave a half-configured subscription behind.
      const maxRetry = parseRetryDuration(opts.maxRetryDuration);
      const policy = opts.filterPolicy === undefined ? undefined : await readFilterPolicy(String(opts.filterPolicy), '--filter-policy');
      const topic = await resolveTopic(ons, String(opts.topic));
      // The server's own check, storing nothing: a policy it refuses is reported before the subscription exists.
      if (policy !== undefined) await checkFilterPolicy(ons.client, policy);
      const details = {
        topicId: topic.topicId,
        compartmentId: (opts.compartment as string | undefined) ?? topic.compartmentId,
        protocol: String(opts.protocol).toUpperCase(),
        endpoint: opts.subscriptionEndpoint,
      };
      let s = await ons.client.call<Row>('POST', `${ONS}/subscriptions`, details);
      const id = String(s.id);
      if (maxRetry !== undefined || policy !== undefined) {
        try {
          // OCI creates with the default policy; the retry window is set by an update, as the OCI console does.
          if (maxRetry !== undefined) {
            await ons.client.call('PUT', `${ONS}/subscriptions/${enc(id)}`, { deliveryPolicy: { backoffRetryPolicy: { maxRetryDuration: maxRetry, policyType: 'EXPONENTIAL' } } });
          }
          if (policy !== undefined) await putFilterPolicy(ons.client, id, policy);
        } catch (err) {
          // Checked above, so rare (a policy over the size limit, a lost connection): none is left half-configured.
          await undoCreate(ons.client, id);
          throw err;
        }
        s = await ons.client.call<Row>('GET', `${ONS}/subscriptions/${enc(id)}`);
      }
      if (format === 'json') printObject(s);
      else process.stdout.write(`${String(s.id)}\n`);
      if (s.lifecycleState === 'PENDING') process.stderr.write(`The subscription is PENDING until the confirmation sent to ${String(s.endpoint)} is followed.\n`);
    }),
  );

  addClientOptions(
    sub
      .command('list')
      .description("List a topic's subscriptions, or a compartment's")
      .option('--topic <topic>', 'topic OCID or name')
      .option('--compartment <ocid>', 'compartment (default: the tenancy root compartment)'),
  ).action(async (opts: Row) =>
    withOns(opts, async (ons, format) => {
      const compartment = opts.compartment as string | undefined;
      const query: Record<string, string> = {};
      if (opts.topic !== undefined) query.topicId = String((await resolveTopic(ons, String(opts.topic), compartment)).topicId);
      if (compartment !== undefined || opts.topic === undefined) query.compartmentId = compartment ?? ons.client.tenancyId;
      printRows(await listAll(ons, `${ONS}/subscriptions`, query), SUB_COLUMNS, format);
    }),
  );

  addClientOptions(sub.command('get').description('Show a subscription').argument('<subscription>', 'subscription OCID')).action(async (ref: string, opts: Row) =>
    withOns(opts, async ({ client }) => {
      printObject(await client.call<Row>('GET', `${ONS}/subscriptions/${enc(checkSubscriptionRef(ref))}`));
    }),
  );

  addClientOptions(sub.command('delete').description('Delete a subscription').argument('<subscription>', 'subscription OCID')).action(async (ref: string, opts: Row) =>
    withOns(opts, async ({ client }) => {
      await client.call('DELETE', `${ONS}/subscriptions/${enc(checkSubscriptionRef(ref))}`);
      process.stderr.write(`Deleted subscription ${ref}\n`);
    }),
  );

  addClientOptions(
    sub.command('resend-confirmation').description('Send the confirmation of a PENDING subscription again').argument('<subscription>', 'subscription OCID'),
  ).action(async (ref: string, opts: Row) =>
    withOns(opts, async ({ client }, format) => {
      const s = await client.call<Row>('POST', `${ONS}/subscriptions/${enc(checkSubscriptionRef(ref))}/resendConfirmation`);
      if (format === 'json') printObject(s);
      else process.stdout.write(`Confirmation re-sent to ${String(s.endpoint)}\n`);
    }),
  );

  registerDeliveryControlCommands(sub);
}
