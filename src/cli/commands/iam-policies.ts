import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { enc, type Row } from '../resolve.js';
import { collect, IAM, ifMatch, printCreated, resolveCompartmentId, resolvePolicy, usage, withIam } from './iam-common.js';

const POLICY_COLUMNS = ['name', 'id', 'lifecycleState', 'statements', 'description'];
const COMPARTMENT_HELP = 'compartment the policy is attached to, OCID or name (default: the tenancy root)';

/**
 * A statements file is a JSON array of strings (what `oci iam policy create
 * --statements file://...` takes), or plain text with one statement a line,
 * blank lines and `#` comments skipped.
 */
function parseStatementsFile(file: string, text: string): string[] {
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return usage(`--statements-file ${file} is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) usage(`--statements-file ${file} must be a JSON array of strings.`);
    return parsed as string[];
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The statements of --statement (repeatable) or --statements-file, never both; undefined when neither was given. */
async function readStatements(opts: Row): Promise<string[] | undefined> {
  const inline = opts.statement as string[] | undefined;
  if (inline !== undefined && opts.statementsFile !== undefined) usage('Give --statement or --statements-file, not both.');
  if (inline !== undefined) return inline;
  if (opts.statementsFile === undefined) return undefined;
  const file = String(opts.statementsFile);
  const text = await readFile(file, 'utf8').catch((err: Error) => usage(`--statements-file cannot be read: ${err.message}`));
  const statements = parseStatementsFile(file, text);
  if (statements.length === 0) usage(`--statements-file ${file} holds no statements.`);
  return statements;
}

export function registerPolicyCommands(iamCmd: Command): void {
  const policy = iamCmd.command('policy').description('Policies: who may do what, where ("Allow group G to use ons-topics in compartment C")');

  addClientOptions(
    policy
      .command('create')
      .description('Create a policy')
      .requiredOption('--name <name>', 'policy name')
      .requiredOption('--description <text>', 'what the policy is for')
      .option('--statement <statement>', 'a policy statement (repeat for more)', collect)
      .option('--statements-file <file>', 'statements as a JSON array, or one a line')
      .option('--compartment <compartment>', COMPARTMENT_HELP),
  ).action(async (opts: Row) => {
    const statements = await readStatements(opts);
    if (statements === undefined) usage('A policy needs statements: give --statement (once per statement) or --statements-file.');
    await withIam(opts, async (iam, format) => {
      const compartmentId = opts.compartment === undefined ? iam.tenancyId : await resolveCompartmentId(iam, String(opts.compartment));
      printCreated(await iam.call('POST', `${IAM}/policies`, { compartmentId, name: opts.name, description: opts.description, statements }), format);
    });
  });

  addClientOptions(policy.command('list').description('List the policies attached to a compartment').option('--compartment <compartment>', COMPARTMENT_HELP)).action(
    async (opts: Row) =>
      withIam(opts, async (iam, format) => {
        const compartmentId = opts.compartment === undefined ? iam.tenancyId : await resolveCompartmentId(iam, String(opts.compartment));
        printRows(await iam.list(`${IAM}/policies`, { compartmentId }), POLICY_COLUMNS, format);
      }),
  );

  addClientOptions(
    policy.command('get').description('Show a policy and its statements').argument('<policy>', 'policy OCID or name').option('--compartment <compartment>', 'look the name up in this compartment'),
  ).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      printObject(await resolvePolicy(iam, ref, opts.compartment as string | undefined));
    }),
  );

  addClientOptions(
    policy
      .command('update')
      .description("Replace a policy's statements, or change its description (names cannot change)")
      .argument('<policy>', 'policy OCID or name')
      .option('--statement <statement>', 'a statement of the new list (repeat for more)', collect)
      .option('--statements-file <file>', 'the new statements as a JSON array, or one a line')
      .option('--description <text>', 'the new description')
      .option('--compartment <compartment>', 'look the name up in this compartment')
      .option('--if-match <etag>', 'only if the policy is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) => {
    const statements = await readStatements(opts);
    if (statements === undefined && opts.description === undefined) usage('Nothing to update: give --statement, --statements-file or --description.');
    await withIam(opts, async (iam) => {
      const p = await resolvePolicy(iam, ref, opts.compartment as string | undefined);
      printObject(await iam.call('PUT', `${IAM}/policies/${enc(String(p.id))}`, { statements, description: opts.description }, ifMatch(opts)));
    });
  });

  addClientOptions(
    policy
      .command('delete')
      .description('Delete a policy: what it allowed is refused from then on')
      .argument('<policy>', 'policy OCID or name')
      .option('--compartment <compartment>', 'look the name up in this compartment')
      .option('--if-match <etag>', 'only if the policy is unchanged since this etag'),
  ).action(async (ref: string, opts: Row) =>
    withIam(opts, async (iam) => {
      const p = await resolvePolicy(iam, ref, opts.compartment as string | undefined);
      await iam.call('DELETE', `${IAM}/policies/${enc(String(p.id))}`, undefined, ifMatch(opts));
      process.stderr.write(`Deleted policy ${String(p.name)}\n`);
    }),
  );
}
