/**
 * Sets the shop up on a Herald server with the `herald` CLI, the way an operator would by hand
 * (README: "Walkthrough: the e-commerce example"):
 *
 *   1. topic OrderProcessing
 *   2. an EMAIL subscription for the supplier (PENDING until the supplier follows the link)
 *   3. application `shop` and the shipping-label function (Node, or its Python twin), told where the
 *      order service is; `herald fn deploy` installs the function's dependencies (package.json or
 *      requirements.txt) before uploading it
 *   4. an ORACLE_FUNCTIONS subscription that invokes the function (ACTIVE at once)
 *   5. the supplier confirms: reads the confirmation email and follows its link
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HERALD_BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** A function folder of the example and the name its func.yaml gives it. */
export interface ShopFunction {
  dir: string;
  name: string;
}
export const NODE_FUNCTION: ShopFunction = { dir: fileURLToPath(new URL('./shipping-label', import.meta.url)), name: 'shipping-label' };
/** The same function in Python, laid out as `fn init --runtime python` does (requirements.txt built at deploy). */
export const PYTHON_FUNCTION: ShopFunction = { dir: fileURLToPath(new URL('./shipping-label-python', import.meta.url)), name: 'shipping-label-python' };

/** Runs `herald ARGS --output json` against one server and returns the parsed output. */
export type HeraldCli = <T = Record<string, unknown>>(args: string[]) => Promise<T>;

export function heraldCli(endpoint: string, configFile: string): HeraldCli {
  if (!existsSync(HERALD_BIN)) throw new Error(`${HERALD_BIN} is missing: run npm run build first.`);
  return <T>(args: string[]) =>
    new Promise<T>((resolve, reject) => {
      const child = spawn(process.execPath, [HERALD_BIN, ...args, '--endpoint', endpoint, '--config-file', configFile, '--output', 'json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`herald ${args.join(' ')} failed (exit ${code}):\n${stderr}`));
        try {
          resolve((stdout.trim() === '' ? undefined : JSON.parse(stdout)) as T);
        } catch {
          reject(new Error(`herald ${args.join(' ')} printed no JSON:\n${stdout}`));
        }
      });
    });
}

export interface ShopSetup {
  topicId: string;
  supplierSubscriptionId: string;
  functionId: string;
  functionSubscriptionId: string;
}

export interface SetupOptions {
  orderServiceUrl: string;
  supplierEmail?: string;
  /** The function that labels orders; NODE_FUNCTION by default. */
  fn?: ShopFunction;
  /** Called with one line per step, for progress output. */
  log?: (line: string) => void;
}

interface Mail {
  to: string;
  subject: string;
  text: string;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function setupShop(herald: HeraldCli, opts: SetupOptions): Promise<ShopSetup> {
  const supplier = opts.supplierEmail ?? 'supplier@example.com';
  const log = opts.log ?? (() => {});
  const { dir, name } = opts.fn ?? NODE_FUNCTION;

  log('herald topic create --name OrderProcessing');
  const topic = await herald<{ topicId: string }>(['topic', 'create', '--name', 'OrderProcessing', '--description', 'New orders of the shop']);

  log(`herald subscription create --topic OrderProcessing --protocol EMAIL --subscription-endpoint ${supplier}`);
  const email = await herald<{ id: string }>(['subscription', 'create', '--topic', 'OrderProcessing', '--protocol', 'EMAIL', '--subscription-endpoint', supplier]);

  log('herald app create --name shop');
  await herald(['app', 'create', '--name', 'shop']);
  // The CLI runs pip/npm with this process's environment, so the operator's PIP_* and npm settings apply.
  log(`herald fn deploy examples/ecommerce/${basename(dir)} --app shop`);
  const fn = await herald<{ id: string }>(['fn', 'deploy', dir, '--app', 'shop']);
  log(`herald fn config --fn ${name} --app shop ORDER_SERVICE_URL ${opts.orderServiceUrl}`);
  await herald(['fn', 'config', '--fn', name, '--app', 'shop', 'ORDER_SERVICE_URL', opts.orderServiceUrl]);

  log(`herald subscription create --topic OrderProcessing --protocol ORACLE_FUNCTIONS --subscription-endpoint ${fn.id}`);
  const fnSub = await herald<{ id: string }>(['subscription', 'create', '--topic', 'OrderProcessing', '--protocol', 'ORACLE_FUNCTIONS', '--subscription-endpoint', fn.id]);

  // The supplier's side: the confirmation email arrives (here in Herald's dev mailbox) and they click its link.
  log(`herald mail list --to ${supplier}   (the supplier follows the confirmation link)`);
  const link = await poll('the supplier confirmation email', async () => {
    const mails = await herald<Mail[]>(['mail', 'list', '--to', supplier]);
    for (const m of mails) {
      const url = /https?:\/\/\S+\/confirmation\?\S+/.exec(m.text)?.[0];
      if (url !== undefined) return url;
    }
    return undefined;
  });
  const res = await fetch(link);
  if (!res.ok) throw new Error(`Following the confirmation link answered ${res.status}: ${await res.text()}`);
  const confirmed = await herald<{ lifecycleState: string }>(['subscription', 'get', email.id]);
  if (confirmed.lifecycleState !== 'ACTIVE') throw new Error(`The supplier subscription is ${confirmed.lifecycleState} after confirming.`);

  return { topicId: topic.topicId, supplierSubscriptionId: email.id, functionId: fn.id, functionSubscriptionId: fnSub.id };
}
