import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { enc, type Row } from '../resolve.js';
import { IAM, ifMatch, printCreated, resolveUser, usage, withIam, type Iam } from './iam-common.js';

const USER_COLUMNS = ['name', 'id', 'email', 'lifecycleState', 'timeCreated', 'description'];
const KEY_COLUMNS = ['fingerprint', 'lifecycleState', 'timeCreated'];

/** The user of --user, or the one the config profile signs as. */
async function userOf(iam: Iam, ref: unknown): Promise<Row> {
  return ref === undefined ? iam.call('GET', `${IAM}/users/${enc(iam.userId)}`) : resolveUser(iam, String(ref));
}

/**
 * The public key to upload, as PEM. A private key file is accepted too (as
 * `openssl rsa -pubout` would be run on it): only its public half is sent.
 */
async function publicKeyPem(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: Error) => usage(`--key-file cannot be read: ${err.message}`));
  if (!text.includes('PRIVATE KEY')) return text;
  try {
    return createPublicKey(text).export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    return usage(`--key-file holds a private key that cannot be read (an encrypted one?): ${(err as Error).message}`);
  }
}

export function registerUserCommands(iamCmd: Command): void {
  const user = iamCmd.command('user').description('Users of the tenancy');

  addClientOptions(
    user
      .command('create')
      .description('Create a user (it signs requests once it has an API key, and may do what its groups are allowed)')
      .requiredOption('--name <name>', 'user name, unique in the tenancy (letters, digits and -._+@)')
      .requiredOption('--description <text>', 'who the user is')
      .option('--email <address>', 'email address'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      printCreated(await iam.call('POST', `${IAM}/users`, { compartmentId: iam.tenancyId, name: opts.name, description: opts.description, email: opts.email }), format);
    }),
  );

  addClientOptions(user.command('list').description('List the users of the tenancy')).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      printRows(await iam.list(`${IAM}/users`, { compartmentId: iam.tenancyId }), USER_COLUMNS, format);
    }),
  );

  addClientOptions(user.command('get').description('Show a user').argument('<user>', 'user OCID or name')).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      printObject(await resolveUser(iam, ref));
    }),
  );

  addClientOptions(
    user
      .command('update')
      .description("Change a user's description or email (names cannot change)")
      .argument('<user>', 'user OCID or name')
      .option('--description <text>', 'the new description')
      .option('--email <address>', 'the new email address')
      .option('--if-match <etag>', 'only if the user is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) => {
    if (opts.description === undefined && opts.email === undefined) usage('Nothing to update: give --description, --email or both.');
    await withIam(opts, async (iam) => {
      const u = await resolveUser(iam, ref);
      printObject(await iam.call('PUT', `${IAM}/users/${enc(String(u.id))}`, { description: opts.description, email: opts.email }, ifMatch(opts)));
    });
  });

  addClientOptions(
    user
      .command('delete')
      .description('Delete a user (remove it from its groups first)')
      .argument('<user>', 'user OCID or name')
      .option('--if-match <etag>', 'only if the user is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      const u = await resolveUser(iam, ref);
      await iam.call('DELETE', `${IAM}/users/${enc(String(u.id))}`, undefined, ifMatch(opts));
      process.stderr.write(`Deleted user ${String(u.name)}\n`);
    }),
  );

  addClientOptions(user.command('list-groups').description('List the groups a user is in').argument('<user>', 'user OCID or name')).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam, format) => {
      const u = await resolveUser(iam, ref);
      const memberships = await iam.list(`${IAM}/userGroupMemberships`, { compartmentId: iam.tenancyId, userId: String(u.id) });
      const rows: Row[] = [];
      for (const m of memberships) {
        const g = await iam.call('GET', `${IAM}/groups/${enc(String(m.groupId))}`);
        rows.push({ name: g.name, id: g.id, membershipId: m.id, description: g.description });
      }
      printRows(rows, ['name', 'id', 'membershipId', 'description'], format);
    }),
  );
}

export function registerApiKeyCommands(iamCmd: Command): void {
  const key = iamCmd.command('api-key').description("Users' API signing keys (at most three per user)");

  addClientOptions(
    key
      .command('upload')
      .description("Add an RSA public key to a user's keys; prints its fingerprint")
      .requiredOption('--key-file <file>', 'PEM file with the public key (of a private key, only the public half is sent)')
      .option('--user <user>', 'user OCID or name (default: the user of the config profile)'),
  ).action(async (opts: Row) => {
    const pem = await publicKeyPem(String(opts.keyFile));
    await withIam(opts, async (iam, format) => {
      const u = await userOf(iam, opts.user);
      const k = await iam.call('POST', `${IAM}/users/${enc(String(u.id))}/apiKeys`, { key: pem });
      if (format === 'json') printObject(k);
      else process.stdout.write(`${String(k.fingerprint)}\n`);
    });
  });

  addClientOptions(key.command('list').description("List a user's API keys").option('--user <user>', 'user OCID or name (default: the user of the config profile)')).action(
    async (opts: Row) =>
      withIam(opts, async (iam, format) => {
        const u = await userOf(iam, opts.user);
        // No paging here: OCI's listApiKeys has none.
        printRows(await iam.call<Row[]>('GET', `${IAM}/users/${enc(String(u.id))}/apiKeys`), KEY_COLUMNS, format);
      }),
  );

  addClientOptions(
    key
      .command('delete')
      .description('Revoke an API key: nothing it signs is accepted any more')
      .requiredOption('--fingerprint <fp>', 'the key fingerprint (aa:bb:...), see herald iam api-key list')
      .option('--user <user>', 'user OCID or name (default: the user of the config profile)'),
  ).action(async (opts: Row) => {
    const fingerprint = String(opts.fingerprint).trim().toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/.test(fingerprint)) usage(`--fingerprint wants 16 colon-separated hex bytes (aa:bb:...), got "${String(opts.fingerprint)}".`);
    await withIam(opts, async (iam) => {
      const u = await userOf(iam, opts.user);
      await iam.call('DELETE', `${IAM}/users/${enc(String(u.id))}/apiKeys/${enc(fingerprint)}`);
      process.stderr.write(`Deleted API key ${fingerprint} of user ${String(u.name)}\n`);
    });
  });
}
