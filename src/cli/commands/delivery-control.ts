import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import type { HeraldClient } from '../client.js';
import { usageError } from '../errors.js';
import { addClientOptions } from '../options.js';
import { printObject } from '../output.js';
import { checkSubscriptionRef, enc, ONS, type Row } from '../resolve.js';
import { withClient } from '../run.js';

/**
 * Herald's delivery controls on a subscription (docs/herald-api.md, "Delivery control"): filter
 * policy, rate limit, health, enable and replay, as `herald subscription ...` commands.
 */

const CONTROL = '/herald/v1/subscriptions';
const controlPath = (ref: string, tail: string): string => `${CONTROL}/${enc(checkSubscriptionRef(ref))}/${tail}`;

/** An argument given inline, or as `@path` read from that file (a missing file is the user's mistake, said so here). */
async function inlineOrFile(raw: string, what: string): Promise<string> {
  if (!raw.startsWith('@')) return raw;
  const path = raw.slice(1);
  if (path === '') throw usageError(`${what}: "@" wants a file path, as in @policy.json.`);
  return readFile(path, 'utf8').catch((err: Error) => {
    throw usageError(`${what} cannot be read: ${err.message}`);
  });
}

/** A filter policy argument (JSON, or @file holding JSON), parsed; malformed JSON is a usage error, found before anything is sent. */
export async function readFilterPolicy(raw: string, what: string): Promise<unknown> {
  const text = await inlineOrFile(raw, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Asks the server whether it accepts a policy, storing nothing (the test action answers 400 for an
 * invalid one, as a PUT would): `subscription create --filter-policy` checks first, so a refused
 * policy does not leave a subscription behind without it. (The test action does not apply the
 * 256 KB limit a PUT does; create deletes the subscription again when its PUT is refused.)
 */
export async function checkFilterPolicy(client: HeraldClient, policy: unknown): Promise<void> {
  await client.call('POST', '/herald/v1/filterPolicy/actions/test', { filterPolicy: policy, message: '{}' });
}

export async function putFilterPolicy(client: HeraldClient, subscriptionId: string, policy: unknown): Promise<Row> {
  return client.call<Row>('PUT', controlPath(subscriptionId, 'filterPolicy'), { filterPolicy: policy });
}

/**
 * A replay bound: an RFC 3339 time, passed on as given (the server checks it), or a duration such as
 * `2h`, `30m` or `7d` meaning that long before `now`.
 */
function replayTime(raw: string, flag: string, now: number): string {
  const ago = parseDuration(raw);
  if (ago !== undefined) return new Date(now - ago).toISOString();
  if (/^\d{4}-\d{2}-\d{2}T/.test(raw) && Number.isFinite(Date.parse(raw))) return raw;
  throw usageError(`${flag} wants an RFC 3339 time (such as 2026-11-30T08:00:00Z) or how long ago (such as 2h, 30m, 7d), got "${raw}".`);
}

function parsePerSecond(raw: string): number {
  // Only what is not a number at all is refused here; the range (1 to 10000, whole) is the server's to say.
  if (!/^[+-]?\d+(\.\d+)?$/.test(raw.trim())) throw usageError(`perSecond wants a number of deliveries per second, got "${raw}".`);
  return Number(raw);
}

const HEALTH_FIELDS: [label: string, key: string][] = [
  ['state', 'state'],
  ['since', 'since'],
  ['failing since', 'timeFailingSince'],
  ['disabled', 'timeDisabled'],
  ['consecutive failures', 'consecutiveFailures'],
  ['last error', 'lastError'],
  ['held deliveries', 'heldDeliveries'],
  ['disable after', 'disableAfter'],
];

/** The health answer: the wire object as JSON, or one labelled line per field for a person. */
function printHealth(health: Row, format: string): void {
  if (format === 'json') return printObject(health);
  const width = Math.max(...HEALTH_FIELDS.map(([label]) => label.length));
  for (const [label, key] of HEALTH_FIELDS) {
    const v = health[key];
    const text = v === null || v === undefined ? '-' : String(v).replace(/\s+/g, ' ');
    process.stdout.write(`${label.padEnd(width)}  ${text}\n`);
  }
}

const SUB_ARG = ['<subscription>', 'subscription OCID'] as const;

function registerFilterPolicyCommands(sub: Command): void {
  const fp = sub
    .command('filter-policy')
    .summary('Which messages a subscription gets (SNS filter policies)')
    .description(
      "A subscription's filter policy: an SNS filter policy (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html), " +
        'evaluated on the message body parsed as JSON. Only the messages it passes are delivered; the others show as FILTERED in herald message get.',
    );

  addClientOptions(
    fp
      .command('set')
      .description('Set (or replace) the filter policy; it applies to deliveries made from then on')
      .argument(...SUB_ARG)
      .argument('<policy>', 'the policy as JSON, or @file to read it from a file'),
  ).action(async (ref: string, raw: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      checkSubscriptionRef(ref);
      const res = await putFilterPolicy(client, ref, await readFilterPolicy(raw, 'The filter policy'));
      if (format === 'json') printObject(res);
      else process.stdout.write(`Filter policy of ${ref} set.\n`);
    }),
  );

  addClientOptions(fp.command('get').description('Show the filter policy, if any').argument(...SUB_ARG)).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      const res = await client.call<Row>('GET', controlPath(ref, 'filterPolicy'));
      if (format === 'json') printObject(res);
      else if (res.filterPolicy === null || res.filterPolicy === undefined) process.stdout.write(`Subscription ${ref} has no filter policy: every message is delivered.\n`);
      else printObject(res.filterPolicy);
    }),
  );

  addClientOptions(fp.command('delete').description('Remove the filter policy: every message is delivered again').argument(...SUB_ARG)).action(
    async (ref: string, opts: Row) =>
      withClient(opts, async (client) => {
        await client.call('DELETE', controlPath(ref, 'filterPolicy'));
        process.stderr.write(`Removed the filter policy of ${ref}\n`);
      }),
  );

  addClientOptions(
    fp
      .command('test')
      .description('Whether a filter policy passes a sample message body (nothing is stored; exits 0 either way)')
      .argument('<policy>', 'the policy as JSON, or @file to read it from a file')
      .requiredOption('--message <text>', 'the message body to test, or @file to read it from a file'),
  ).action(async (raw: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      const policy = await readFilterPolicy(raw, 'The filter policy');
      const message = await inlineOrFile(String(opts.message), '--message');
      const res = await client.call<{ matches: boolean }>('POST', '/herald/v1/filterPolicy/actions/test', { filterPolicy: policy, message });
      if (format === 'json') printObject({ matches: res.matches });
      else process.stdout.write(res.matches ? 'The message matches the filter policy.\n' : 'The message does not match the filter policy.\n');
    }),
  );
}

function registerRateLimitCommands(sub: Command): void {
  const rl = sub
    .command('rate-limit')
    .summary('At most N deliveries per second to a subscription')
    .description("A subscription's rate limit: at most N deliveries per second (per node, with a burst of N), retries, replays and released held deliveries included.");

  addClientOptions(
    rl
      .command('set')
      .description('Set (or change) the rate limit')
      .argument(...SUB_ARG)
      .argument('<perSecond>', 'deliveries per second, a whole number from 1 to 10000'),
  ).action(async (ref: string, raw: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      checkSubscriptionRef(ref);
      const res = await client.call<Row>('PUT', controlPath(ref, 'rateLimit'), { perSecond: parsePerSecond(raw) });
      if (format === 'json') printObject(res);
      else process.stdout.write(`Rate limit of ${ref}: ${String(res.perSecond)} deliveries per second.\n`);
    }),
  );

  addClientOptions(rl.command('get').description('Show the rate limit, if any').argument(...SUB_ARG)).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      const res = await client.call<Row>('GET', controlPath(ref, 'rateLimit'));
      if (format === 'json') printObject(res);
      else if (res.perSecond === null || res.perSecond === undefined) process.stdout.write(`Subscription ${ref} has no rate limit.\n`);
      else process.stdout.write(`${String(res.perSecond)} deliveries per second\n`);
    }),
  );

  addClientOptions(rl.command('delete').description('Remove the rate limit').argument(...SUB_ARG)).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client) => {
      await client.call('DELETE', controlPath(ref, 'rateLimit'));
      process.stderr.write(`Removed the rate limit of ${ref}\n`);
    }),
  );
}

/** The delivery-control commands, under `herald subscription` (registered by subscriptions.ts). */
export function registerDeliveryControlCommands(sub: Command): void {
  registerFilterPolicyCommands(sub);
  registerRateLimitCommands(sub);

  addClientOptions(
    sub
      .command('health')
      .summary("A subscription's endpoint health: HEALTHY, FAILING or DISABLED")
      .description(
        "A subscription's endpoint health: HEALTHY, FAILING (its last attempts failed) or DISABLED (no success for longer than the " +
          "server's --endpoint-disable-after; its deliveries are held, not lost, until herald subscription enable).",
      )
      .argument(...SUB_ARG),
  ).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      printHealth(await client.call<Row>('GET', controlPath(ref, 'health')), format);
    }),
  );

  addClientOptions(
    sub
      .command('enable')
      .summary('Enable a DISABLED subscription and send its held deliveries')
      .description('Enable a DISABLED subscription: clears its failure record and sends its held deliveries, oldest first, and prints its health. Changes nothing for one that is not disabled.')
      .argument(...SUB_ARG),
  ).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      printHealth(await client.call<Row>('POST', controlPath(ref, 'actions/enable')), format);
    }),
  );

  addClientOptions(
    sub
      .command('replay')
      .summary('Deliver the retained messages of a time window again')
      .description(
        "Deliver again, with their message ids, the retained messages published to the subscription's topic in [since, until) " +
          'since it became ACTIVE, that its current filter policy passes. A message with a delivery still to make is skipped.',
      )
      .argument(...SUB_ARG)
      .requiredOption('--since <time>', 'RFC 3339 time, or how long ago (2h, 30m, 7d)')
      .option('--until <time>', 'RFC 3339 time, or how long ago (default: now)'),
  ).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      checkSubscriptionRef(ref);
      const now = Date.now();
      const body: Row = { since: replayTime(String(opts.since), '--since', now) };
      if (opts.until !== undefined) body.until = replayTime(String(opts.until), '--until', now);
      const res = await client.call<{ replayed: number }>('POST', controlPath(ref, 'actions/replay'), body);
      if (format === 'json') printObject({ replayed: res.replayed });
      else process.stdout.write(`Replayed ${res.replayed} message${res.replayed === 1 ? '' : 's'} to ${ref}.\n`);
    }),
  );
}

/** Deletes a subscription whose configuration after create failed, so none is left half-configured. */
export async function undoCreate(client: HeraldClient, subscriptionId: string): Promise<void> {
  try {
    await client.call('DELETE', `${ONS}/subscriptions/${enc(subscriptionId)}`);
    process.stderr.write(`Deleted subscription ${subscriptionId} again: it could not be configured.\n`);
  } catch {
    process.stderr.write(`Subscription ${subscriptionId} was created but could not be configured; delete it with: herald subscription delete ${subscriptionId}\n`);
  }
}
