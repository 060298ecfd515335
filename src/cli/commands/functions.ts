import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { HeraldClient } from '../client.js';
import { notFoundError, usageError } from '../errors.js';
import { addClientOptions, clientOptions } from '../options.js';
import { printObject, printRows } from '../output.js';
import { RawHeraldClient } from '../raw-client.js';
import { withClient } from '../run.js';
import { packFunctionDir } from '../../functions/bundles.js';
import { FunctionBuildError, prepareFunctionDir } from '../../functions/build.js';

type Row = Record<string, unknown>;
const API = '/20181201';
const enc = encodeURIComponent;

const notFound = (what: string, name: string) => notFoundError(`No ${what} named "${name}".`);

function parsePairs(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw usageError(`--config wants KEY=VALUE, got "${p}".`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** An application by OCID, or by display name in the compartment (the tenancy root by default). */
async function resolveApp(client: HeraldClient, ref: string, compartment?: string): Promise<Row> {
  if (ref.startsWith('ocid1.fnapp.')) return client.call<Row>('GET', `${API}/applications/${enc(ref)}`);
  const q = new URLSearchParams({ compartmentId: compartment ?? client.tenancyId, displayName: ref });
  const [app] = await client.call<Row[]>('GET', `${API}/applications?${q.toString()}`);
  if (app === undefined) throw notFound('application', ref);
  return app;
}

async function listFunctions(client: HeraldClient, appId: string, displayName?: string): Promise<Row[]> {
  const q = new URLSearchParams({ applicationId: appId, limit: '1000' });
  if (displayName !== undefined) q.set('displayName', displayName);
  return client.call<Row[]>('GET', `${API}/functions?${q.toString()}`);
}

/** A function by OCID, or by name: in --app when given, else in any application of the compartment. */
async function resolveFn(client: HeraldClient, ref: string, opts: Row): Promise<Row> {
  if (ref.startsWith('ocid1.fnfunc.')) return client.call<Row>('GET', `${API}/functions/${enc(ref)}`);
  const compartment = opts.compartment as string | undefined;
  const apps = opts.app
    ? [await resolveApp(client, String(opts.app), compartment)]
    : await client.call<Row[]>('GET', `${API}/applications?${new URLSearchParams({ compartmentId: compartment ?? client.tenancyId, limit: '1000' }).toString()}`);
  const found: Row[] = [];
  for (const a of apps) found.push(...(await listFunctions(client, String(a.id), ref)));
  if (found.length === 0) throw notFound('function', ref);
  // Ambiguous, not conflicting: the user must say which one, as for a compartment name used twice.
  if (found.length > 1) throw usageError(`Several applications have a function named "${ref}"; pass --app or the function OCID.`);
  return client.call<Row>('GET', `${API}/functions/${enc(String(found[0]!.id))}`);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** A --body-file's bytes, with an error of its own: withClient would blame the config file for a bare ENOENT. */
async function readBodyFile(path: string): Promise<Buffer> {
  return readFile(path).catch((err: Error) => {
    throw usageError(`--body-file cannot be read: ${err.message}`);
  });
}

interface FuncYaml {
  name?: string;
  memory?: number;
  timeout?: number;
  config?: Record<string, unknown>;
}

async function deploy(client: HeraldClient, opts: Row, dir: string, format: string): Promise<void> {
  const abs = resolve(dir);
  const text = await readFile(join(abs, 'func.yaml'), 'utf8').catch(() => {
    throw usageError(`${join(abs, 'func.yaml')} cannot be read: is ${abs} a function folder?`);
  });
  const spec = parseYaml(text) as FuncYaml | null;
  const name = spec?.name;
  if (typeof name !== 'string' || name === '') throw usageError(`${join(abs, 'func.yaml')} has no name.`);
  const config = Object.fromEntries(Object.entries(spec?.config ?? {}).map(([k, v]) => [k, String(v)]));
  const app = await resolveApp(client, String(opts.app), opts.compartment as string | undefined);

  // Built before packing, as `fn deploy` builds locally before it pushes; the user's folder is left untouched.
  const prepared = await prepareFunctionDir(abs, { build: opts.build !== false, python: opts.python as string | undefined });
  let bundle: Buffer;
  try {
    process.stderr.write(`Packing ${abs}${prepared.dir === abs ? '' : ' (built)'} ...\n`);
    bundle = await packFunctionDir(prepared.dir);
  } finally {
    await prepared.dispose();
  }
  process.stderr.write(`Uploading ${(bundle.length / 1024).toFixed(1)} KB ...\n`);
  const raw = await RawHeraldClient.fromConfig(clientOptions(opts));
  const up = JSON.parse((await raw.callRaw('POST', '/herald/v1/functionBundles', bundle, { 'content-type': 'application/gzip' })).body.toString('utf8')) as { digest: string; image: string };
  process.stderr.write(`Uploaded ${up.digest}\n`);

  const details = { image: up.image, memoryInMBs: spec?.memory ?? 128, timeoutInSeconds: spec?.timeout ?? 30, config };
  const [existing] = await listFunctions(client, String(app.id), name);
  let fn: Row;
  if (existing === undefined) {
    process.stderr.write(`Creating function ${name} in ${String(app.displayName)} ...\n`);
    fn = await client.call<Row>('POST', `${API}/functions`, { ...details, displayName: name, applicationId: app.id });
  } else {
    process.stderr.write(`Updating function ${name} in ${String(app.displayName)} ...\n`);
    fn = await client.call<Row>('PUT', `${API}/functions/${enc(String(existing.id))}`, details);
  }
  if (format === 'json') printObject(fn);
  else process.stdout.write(`${String(fn.id)}\n`);
}

const FN_COLUMNS = ['displayName', 'id', 'memoryInMBs', 'timeoutInSeconds', 'imageDigest', 'lifecycleState'];

export function registerFunctionCommands(program: Command): void {
  const app = program.command('app').description('OCI Functions applications');
  addClientOptions(app.command('create').requiredOption('--name <name>').option('--compartment <ocid>').option('--config <KEY=VALUE...>', 'application config')).action(
    async (opts: Row) =>
      withClient(opts, async (client, format) => {
        const body = { compartmentId: (opts.compartment as string | undefined) ?? client.tenancyId, displayName: opts.name, subnetIds: [], config: parsePairs(opts.config as string[] | undefined) };
        const a = await client.call<Row>('POST', `${API}/applications`, body);
        if (format === 'json') printObject(a);
        else process.stdout.write(`${String(a.id)}\n`);
      }),
  );
  addClientOptions(app.command('list').option('--compartment <ocid>')).action(async (opts: Row) =>
    withClient(opts, async (client, format) => {
      const q = new URLSearchParams({ compartmentId: (opts.compartment as string | undefined) ?? client.tenancyId, limit: '1000' });
      printRows(await client.call<Row[]>('GET', `${API}/applications?${q.toString()}`), ['displayName', 'id', 'lifecycleState', 'timeCreated'], format);
    }),
  );
  addClientOptions(app.command('delete').argument('<app>', 'OCID or name').option('--compartment <ocid>')).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client) => {
      const a = await resolveApp(client, ref, opts.compartment as string | undefined);
      await client.call('DELETE', `${API}/applications/${enc(String(a.id))}`);
      process.stderr.write(`Deleted application ${String(a.displayName)}\n`);
    }),
  );

  const fn = program.command('fn').description('OCI Functions functions');
  addClientOptions(
    fn
      .command('deploy')
      .argument('<dir>', 'function folder with func.yaml')
      .requiredOption('--app <app>', 'application OCID or name')
      .option('--compartment <ocid>')
      .option('--python <path>', 'Python that runs pip for requirements.txt (default: HERALD_FUNCTIONS_PYTHON, else /usr/bin/python3, else python3)')
      .option('--no-build', 'pack the folder as is, without installing requirements.txt or package.json dependencies'),
  ).action(async (dir: string, opts: Row) =>
    withClient(opts, async (client, format) => {
      try {
        await deploy(client, opts, dir, format);
      } catch (err) {
        if (!(err instanceof FunctionBuildError)) throw err;
        // The build's own output is already on stderr; this line says which step failed.
        process.stderr.write(`herald: the function's build failed: ${err.message}\n`);
        process.exit(1);
      }
    }),
  );
  addClientOptions(fn.command('list').requiredOption('--app <app>').option('--compartment <ocid>')).action(async (opts: Row) =>
    withClient(opts, async (client, format) => {
      const a = await resolveApp(client, String(opts.app), opts.compartment as string | undefined);
      printRows(await listFunctions(client, String(a.id)), FN_COLUMNS, format);
    }),
  );
  addClientOptions(
    fn
      .command('invoke')
      .argument('<fn>', 'OCID or name')
      .option('--app <app>')
      .option('--compartment <ocid>')
      .option('--body <text>')
      .option('--body-file <path>')
      .option('--content-type <type>', 'content type of the body', 'application/json'),
  ).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client) => {
      const f = await resolveFn(client, ref, opts);
      let body: Buffer;
      if (opts.body !== undefined) body = Buffer.from(String(opts.body), 'utf8');
      else if (opts.bodyFile !== undefined) body = await readBodyFile(String(opts.bodyFile));
      else body = process.stdin.isTTY ? Buffer.alloc(0) : await readStdin();
      const raw = await RawHeraldClient.fromConfig(clientOptions(opts));
      const headers = { 'content-type': String(opts.contentType), 'fn-intent': 'httprequest', 'fn-invoke-type': 'sync' };
      const res = await raw.callRaw('POST', `${API}/functions/${enc(String(f.id))}/actions/invoke`, body, headers);
      process.stdout.write(res.body);
    }),
  );
  addClientOptions(fn.command('config').requiredOption('--fn <fn>', 'OCID or name').option('--app <app>').option('--compartment <ocid>').argument('<key>').argument('<value>')).action(
    async (key: string, value: string, opts: Row) =>
      withClient(opts, async (client, format) => {
        const f = await resolveFn(client, String(opts.fn), opts);
        const config = { ...(f.config as Record<string, string> | undefined), [key]: value };
        const updated = await client.call<Row>('PUT', `${API}/functions/${enc(String(f.id))}`, { config });
        if (format === 'json') printObject(updated);
        else process.stdout.write(`${key}=${value}\n`);
      }),
  );
  addClientOptions(fn.command('logs').argument('<fn>', 'OCID or name').option('--app <app>').option('--compartment <ocid>').option('--limit <n>', 'at most this many calls', '20')).action(
    async (ref: string, opts: Row) =>
      withClient(opts, async (client, format) => {
        const f = await resolveFn(client, ref, opts);
        const calls = await client.call<Row[]>('GET', `/herald/v1/functions/${enc(String(f.id))}/logs?limit=${enc(String(opts.limit))}`);
        if (format === 'json') return printObject(calls);
        for (const c of calls) process.stdout.write(`--- ${String(c.timeStarted)} ${String(c.callId)} ${String(c.status)} ${String(c.durationMs)} ms\n${String(c.logs)}\n`);
      }),
  );
  addClientOptions(fn.command('delete').argument('<fn>', 'OCID or name').option('--app <app>').option('--compartment <ocid>')).action(async (ref: string, opts: Row) =>
    withClient(opts, async (client) => {
      const f = await resolveFn(client, ref, opts);
      await client.call('DELETE', `${API}/functions/${enc(String(f.id))}`);
      process.stderr.write(`Deleted function ${String(f.displayName)}\n`);
    }),
  );
}
