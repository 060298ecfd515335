import type { Command } from 'commander';
import { notFoundError } from '../errors.js';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { enc, type Row } from '../resolve.js';
import { IAM, ifMatch, printCreated, resolveGroup, resolveUser, usage, withIam } from './iam-common.js';

const GROUP_COLUMNS = ['name', 'id', 'lifecycleState', 'timeCreated', 'description'];

export function registerGroupCommands(iamCmd: Command): void {
  const group = iamCmd.command('group').description('Groups of users: policies grant to groups');

  addClientOptions(
    group
      .command('create')
      .description('Create a group')
      .requiredOption('--name <name>', 'group name, unique in the tenancy (letters, digits and -._)')
      .requiredOption('--description <text>', 'what the group is for'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      printCreated(await iam.call('POST', `${IAM}/groups`, { compartmentId: iam.tenancyId, name: opts.name, description: opts.description }), format);
    }),
  );

  addClientOptions(group.command('list').description('List the groups of the tenancy')).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      printRows(await iam.list(`${IAM}/groups`, { compartmentId: iam.tenancyId }), GROUP_COLUMNS, format);
    }),
  );

  addClientOptions(group.command('get').description('Show a group').argument('<group>', 'group OCID or name')).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      printObject(await resolveGroup(iam, ref));
    }),
  );

  addClientOptions(
    group
      .command('update')
      .description("Change a group's description (names cannot change)")
      .argument('<group>', 'group OCID or name')
      .option('--description <text>', 'the new description')
      .option('--if-match <etag>', 'only if the group is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) => {
    if (opts.description === undefined) usage('Nothing to update: give --description.');
    await withIam(opts, async (iam) => {
      const g = await resolveGroup(iam, ref);
      printObject(await iam.call('PUT', `${IAM}/groups/${enc(String(g.id))}`, { description: opts.description }, ifMatch(opts)));
    });
  });

  addClientOptions(
    group
      .command('delete')
      .description('Delete an empty group')
      .argument('<group>', 'group OCID or name')
      .option('--if-match <etag>', 'only if the group is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      const g = await resolveGroup(iam, ref);
      await iam.call('DELETE', `${IAM}/groups/${enc(String(g.id))}`, undefined, ifMatch(opts));
      process.stderr.write(`Deleted group ${String(g.name)}\n`);
    }),
  );

  addClientOptions(
    group
      .command('add-user')
      .description('Add a user to a group; prints the membership OCID')
      .requiredOption('--group <group>', 'group OCID or name')
      .requiredOption('--user <user>', 'user OCID or name'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      const g = await resolveGroup(iam, String(opts.group));
      const u = await resolveUser(iam, String(opts.user));
      printCreated(await iam.call('POST', `${IAM}/userGroupMemberships`, { userId: u.id, groupId: g.id }), format);
    }),
  );

  addClientOptions(
    group
      .command('remove-user')
      .description('Remove a user from a group')
      .requiredOption('--group <group>', 'group OCID or name')
      .requiredOption('--user <user>', 'user OCID or name'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam) => {
      const g = await resolveGroup(iam, String(opts.group));
      const u = await resolveUser(iam, String(opts.user));
      const [m] = await iam.list(`${IAM}/userGroupMemberships`, { compartmentId: iam.tenancyId, userId: String(u.id), groupId: String(g.id) });
      if (m === undefined) throw notFoundError(`User ${String(u.name)} is not in group ${String(g.name)}.`);
      await iam.call('DELETE', `${IAM}/userGroupMemberships/${enc(String(m.id))}`);
      process.stderr.write(`Removed user ${String(u.name)} from group ${String(g.name)}\n`);
    }),
  );

  addClientOptions(group.command('list-users').description('List the users in a group').requiredOption('--group <group>', 'group OCID or name')).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      const g = await resolveGroup(iam, String(opts.group));
      const memberships = await iam.list(`${IAM}/userGroupMemberships`, { compartmentId: iam.tenancyId, groupId: String(g.id) });
      const rows: Row[] = [];
      for (const m of memberships) {
        const u = await iam.call('GET', `${IAM}/users/${enc(String(m.userId))}`);
        rows.push({ name: u.name, id: u.id, email: u.email, membershipId: m.id });
      }
      printRows(rows, ['name', 'id', 'email', 'membershipId'], format);
    }),
  );
}
