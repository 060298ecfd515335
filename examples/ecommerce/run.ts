/**
 * `npm run example:ecommerce`: the whole scenario in one process tree, on a throwaway Herald.
 *
 * Starts an embedded Herald (temp data dir, SQLite), the order service, sets the shop up with the
 * herald CLI (setup.ts), places three orders, waits until each has its shipping label (posted back
 * by the shipping-label function) and the supplier's email, and prints them. Exit 0 on success,
 * 1 with what is missing on timeout (ECOMMERCE_TIMEOUT_MS, default 90 s). `--verbose` shows the steps.
 * `--python` deploys the Python twin of the function (shipping-label-python, built from its
 * requirements.txt by `herald fn deploy` with the operator's pip settings) instead of the Node one.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/config.js';
import { startHerald, type RunningHerald } from '../../src/server/herald.js';
import { startOrderService, type Address, type Order, type OrderLine, type RunningOrderService } from './order-service.js';
import { heraldCli, NODE_FUNCTION, PYTHON_FUNCTION, REPO_ROOT, setupShop, type HeraldCli } from './setup.js';

const SUPPLIER = 'supplier@example.com';
const TIMEOUT_MS = Number(process.env.ECOMMERCE_TIMEOUT_MS ?? 90_000);
const verbose = process.argv.includes('--verbose');
const FN = process.argv.includes('--python') ? PYTHON_FUNCTION : NODE_FUNCTION;

const ORDERS: { userId: string; items: OrderLine[]; shipTo: Address }[] = [
  {
    userId: 'u-ada',
    items: [
      { sku: 'KB-01 mechanical keyboard', quantity: 1, unitPrice: 89.9 },
      { sku: 'MS-02 mouse', quantity: 2, unitPrice: 19.95 },
    ],
    shipTo: { name: 'Ada Lovelace', street: '12 Analytical Street', city: 'London', postalCode: 'NW1 6XE', country: 'gb' },
  },
  {
    userId: 'u-grace',
    items: [{ sku: 'CB-07 USB-C cable', quantity: 3, unitPrice: 9.5 }],
    shipTo: { name: 'Grace Hopper', street: '1 Compiler Lane', city: 'Arlington', postalCode: '22201', country: 'us' },
  },
  {
    userId: 'u-alan',
    items: [{ sku: 'MN-27 monitor', quantity: 1, unitPrice: 249 }],
    shipTo: { name: 'Alan Turing', street: '3 Enigma Road', city: 'Manchester', postalCode: 'M13 9PL', country: 'gb' },
  },
];

interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Copies a package and its dependencies from the project's node_modules, as `npm install` in the function folder would. */
async function vendor(pkg: string, into: string, seen = new Set<string>()): Promise<void> {
  if (seen.has(pkg)) return;
  seen.add(pkg);
  const src = join(REPO_ROOT, 'node_modules', pkg);
  await cp(src, join(into, 'node_modules', pkg), { recursive: true, dereference: true });
  const manifest = JSON.parse(await readFile(join(src, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) await vendor(dep, into, seen);
}

async function getOrder(service: RunningOrderService, id: string): Promise<Order> {
  return (await (await fetch(`${service.url}/orders/${encodeURIComponent(id)}`)).json()) as Order;
}

async function placeOrders(service: RunningOrderService): Promise<Order[]> {
  const placed: Order[] = [];
  for (const o of ORDERS) {
    const res = await fetch(`${service.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o) });
    if (res.status !== 201) throw new Error(`POST /orders answered ${res.status}: ${await res.text()}`);
    placed.push((await res.json()) as Order);
  }
  return placed;
}

/** Waits until every order has its label and its supplier email; on timeout, says what is missing. */
async function waitForOutcome(herald: HeraldCli, service: RunningOrderService, placed: Order[]): Promise<{ orders: Order[]; mails: Map<string, Mail> }> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const orders = await Promise.all(placed.map((o) => getOrder(service, o.orderId)));
    const inbox = await herald<Mail[]>(['mail', 'list', '--to', SUPPLIER, '--limit', '100']);
    const mails = new Map<string, Mail>();
    for (const o of placed) {
      const m = inbox.find((x) => x.text.includes(`New Order has been placed: ${o.orderId} by user: ${o.userId}`));
      if (m !== undefined) mails.set(o.orderId, m);
    }
    const unlabelled = orders.filter((o) => o.label === undefined).map((o) => o.orderId);
    const unmailed = placed.filter((o) => !mails.has(o.orderId)).map((o) => o.orderId);
    if (unlabelled.length === 0 && unmailed.length === 0) return { orders, mails };
    if (Date.now() > deadline) {
      const lines = [`Timed out after ${TIMEOUT_MS} ms.`];
      if (unlabelled.length > 0) lines.push(`No shipping label yet for ${unlabelled.join(', ')}.`);
      if (unmailed.length > 0) lines.push(`No supplier email yet for ${unmailed.join(', ')}.`);
      for (const o of placed) lines.push(`Trace of ${o.orderId}: herald message get ${o.messageId ?? '?'}`);
      const calls = await herald<{ status: string; logs: string }[]>(['fn', 'logs', FN.name, '--app', 'shop', '--limit', '5']).catch(() => []);
      for (const c of calls) lines.push(`${FN.name} call ${c.status}: ${c.logs.trim()}`);
      throw new Error(lines.join('\n'));
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

function render(order: Order, mail: Mail): string {
  const label = order.label as { carrier: string; service: string; trackingNumber: string; parcels: number; shipFrom: string; shipTo: string[] };
  const [first = '', ...rest] = label.shipTo;
  return [
    `=== Order ${order.orderId} by ${order.userId}: ${order.items.length} line(s), total ${order.total.toFixed(2)}, status ${order.status}`,
    `Shipping label (from the ${FN.name} function):`,
    `  ${label.carrier} ${label.service}  tracking ${label.trackingNumber}  ${label.parcels} parcel(s)`,
    `  From: ${label.shipFrom}`,
    `  To:   ${first}`,
    ...rest.map((l) => `        ${l}`),
    `Supplier email to ${mail.to}, subject "${mail.subject}":`,
    ...mail.text.trimEnd().split('\n').map((l) => `  | ${l}`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-ecommerce-'));
  let herald: RunningHerald | undefined;
  let service: RunningOrderService | undefined;
  try {
    // Warnings and errors only, on stderr: stdout is for the result.
    const logger = pino({ level: 'warn' }, pino.destination(2));
    const config = resolveConfig({ port: '0', host: '127.0.0.1', dataDir, store: 'sqlite', allowPrivateEndpoints: true, retryTimeScale: '0.01' }, {});
    herald = await startHerald(config, { logger });
    const configFile = herald.ociConfigPath ?? join(dataDir, 'oci', 'config');
    const cli = heraldCli(herald.url, configFile);

    service = await startOrderService({ heraldEndpoint: herald.url, configFile });
    // The Node folder gets its node_modules from the project's (so deploy keeps them as built); the
    // Python one has only requirements.txt, which `herald fn deploy` installs with pip.
    if (FN === NODE_FUNCTION) await vendor('@fnproject/fdk', FN.dir);
    await setupShop(cli, { orderServiceUrl: service.url, supplierEmail: SUPPLIER, fn: FN, log: verbose ? (l) => process.stderr.write(`$ ${l}\n`) : undefined });

    const placed = await placeOrders(service);
    const { orders, mails } = await waitForOutcome(cli, service, placed);
    process.stdout.write(`Herald e-commerce example: ${orders.length} orders published to OrderProcessing, each labelled by the ${FN.name} function and emailed to ${SUPPLIER}.\n\n`);
    for (const o of orders) process.stdout.write(render(o, mails.get(o.orderId)!) + '\n');
  } finally {
    await service?.close();
    await herald?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`example:ecommerce failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
