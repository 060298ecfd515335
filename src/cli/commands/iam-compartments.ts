import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { enc, type Row } from '../resolve.js';
import { IAM, ifMatch, printCreated, resolveCompartmentId, usage, withIam, type Iam } from './iam-common.js';

const COMPARTMENT_COLUMNS = ['name', 'id', 'compartmentId', 'lifecycleState', 'description'];

/** Every compartment below `parentId`, at any depth, from the whole tree (which OCI lists only from the root). */
async function subtree(iam: Iam, parentId: string, query: Record<string, string>): Promise<Row[]> {
  const all = await iam.list(`${IAM}/compartments`, { ...query, compartmentId: iam.tenancyId, compartmentIdInSubtree: 'true' });
  if (parentId === iam.tenancyId) return all;
  const below = new Set([parentId]);
  // Parents may be listed after their children, so sweep until nothing new joins.
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of all) {
      if (!below.has(String(c.id)) && below.has(String(c.compartmentId))) {
        below.add(String(c.id));
        grew = true;
      }
    }
  }
  return all.filter((c) => c.id !== parentId && below.has(String(c.id)));
}

export function registerCompartmentCommands(iamCmd: Command): void {
  const compartment = iamCmd.command('compartment').description('Compartments: the tree that resources and policies live in (the tenancy is its root)');

  addClientOptions(
    compartment
      .command('create')
      .description('Create a compartment')
      .requiredOption('--name <name>', 'compartment name (unique among its siblings)')
      .requiredOption('--description <text>', 'what the compartment is for')
      .option('--parent <compartment>', 'parent compartment, OCID or name (default: the tenancy root)'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      const parent = opts.parent === undefined ? iam.tenancyId : await resolveCompartmentId(iam, String(opts.parent));
      printCreated(await iam.call('POST', `${IAM}/compartments`, { compartmentId: parent, name: opts.name, description: opts.description }), format);
    }),
  );

  addClientOptions(
    compartment
      .command('list')
      .description("List a compartment's child compartments")
      .option('--parent <compartment>', 'parent compartment, OCID or name (default: the tenancy root)')
      .option('--subtree', 'every compartment below the parent, not only its children')
      .option('--accessible', 'only compartments in which you may inspect compartments'),
  ).action(async (opts: Row) =>
    withIam(opts, async (iam, format) => {
      const parent = opts.parent === undefined ? iam.tenancyId : await resolveCompartmentId(iam, String(opts.parent));
      const query: Record<string, string> = opts.accessible === true ? { accessLevel: 'ACCESSIBLE' } : {};
      const rows = opts.subtree === true ? await subtree(iam, parent, query) : await iam.list(`${IAM}/compartments`, { ...query, compartmentId: parent });
      printRows(rows, COMPARTMENT_COLUMNS, format);
    }),
  );

  addClientOptions(compartment.command('get').description('Show a compartment').argument('<compartment>', 'compartment OCID or name')).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      printObject(await iam.call('GET', `${IAM}/compartments/${enc(await resolveCompartmentId(iam, ref))}`));
    }),
  );

  addClientOptions(
    compartment
      .command('update')
      .description("Rename a compartment or change its description (policies naming it by its old name stop matching it)")
      .argument('<compartment>', 'compartment OCID or name')
      .option('--name <name>', 'the new name')
      .option('--description <text>', 'the new description')
      .option('--if-match <etag>', 'only if the compartment is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) => {
    if (opts.name === undefined && opts.description === undefined) usage('Nothing to update: give --name, --description or both.');
    await withIam(opts, async (iam) => {
      const id = await resolveCompartmentId(iam, ref);
      printObject(await iam.call('PUT', `${IAM}/compartments/${enc(id)}`, { name: opts.name, description: opts.description }, ifMatch(opts)));
    });
  });

  addClientOptions(
    compartment
      .command('delete')
      .description('Delete an empty compartment')
      .argument('<compartment>', 'compartment OCID or name')
      .option('--if-match <etag>', 'only if the compartment is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      const id = await resolveCompartmentId(iam, ref);
      await iam.call('DELETE', `${IAM}/compartments/${enc(id)}`, undefined, ifMatch(opts));
      process.stderr.write(`Deleted compartment ${ref}\n`);
    }),
  );
}
