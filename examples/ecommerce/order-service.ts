/**
 * The shop's order service: keeps orders in memory and announces each new one on the
 * `OrderProcessing` topic through the official `oci-ons` SDK, exactly as it would against OCI.
 *
 *   POST /orders             {userId, items: [{sku, quantity, unitPrice}], shipTo: {name, street, city, postalCode, country}}
 *                            → 201 with the order (status PLACED) and the messageId of its announcement
 *   POST /orders/:id/label   a shipping label (from the shipping-label function) → 200, status LABELLED
 *   GET  /orders/:id, GET /orders
 *
 * The message it publishes (the format the shipping-label function parses):
 *
 *   title: New Order
 *   body:  New Order has been placed: <orderId> by user: <userId>
 *          <blank line>
 *          <the order as JSON, on one line>
 *
 * The first line is for people (it opens the supplier's email); everything after the first blank
 * line is the order as JSON, for programs. One message serves both subscriptions.
 *
 * Run on its own (for the walkthrough by hand): `node --import tsx examples/ecommerce/order-service.ts`
 * listens on PORT (default 3000) and publishes to HERALD_ENDPOINT (default http://127.0.0.1:8080)
 * with the key in OCI_CLI_CONFIG_FILE (default ~/.herald/oci/config).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as common from 'oci-common';
import * as ons from 'oci-ons';

export interface Address {
  name: string;
  street: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface Order {
  orderId: string;
  userId: string;
  items: OrderLine[];
  shipTo: Address;
  total: number;
  status: 'PLACED' | 'LABELLED';
  placedAt: string;
  messageId?: string;
  label?: Record<string, unknown>;
}

export interface OrderServiceOptions {
  /** Herald's URL, e.g. http://127.0.0.1:8080 (on OCI this line would not exist). */
  heraldEndpoint: string;
  /** The OCI config file with the API key (Herald writes one to <data-dir>/oci/config). */
  configFile: string;
  profile?: string;
  topicName?: string;
  port?: number;
}

export interface RunningOrderService {
  url: string;
  orders: ReadonlyMap<string, Order>;
  close(): Promise<void>;
}

export function orderMessageBody(order: Order): string {
  return `New Order has been placed: ${order.orderId} by user: ${order.userId}\n\n${JSON.stringify(order)}`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered as 400 below
  }
  throw new HttpError(400, 'The body must be a JSON object.');
}

function parseNewOrder(body: Record<string, unknown>): Pick<Order, 'userId' | 'items' | 'shipTo'> {
  const { userId, items, shipTo } = body;
  if (typeof userId !== 'string' || userId === '') throw new HttpError(400, 'userId is required.');
  if (!Array.isArray(items) || items.length === 0) throw new HttpError(400, 'items must be a non-empty array.');
  for (const i of items as OrderLine[]) {
    if (typeof i.sku !== 'string' || !Number.isInteger(i.quantity) || i.quantity < 1 || typeof i.unitPrice !== 'number') {
      throw new HttpError(400, 'Each item needs a sku, a positive integer quantity and a unitPrice.');
    }
  }
  const a = shipTo as Partial<Address> | undefined;
  if (typeof a !== 'object' || a === null || [a.name, a.street, a.city, a.postalCode, a.country].some((v) => typeof v !== 'string')) {
    throw new HttpError(400, 'shipTo needs name, street, city, postalCode and country.');
  }
  return { userId, items: items as OrderLine[], shipTo: a as Address };
}

export async function startOrderService(opts: OrderServiceOptions): Promise<RunningOrderService> {
  const topicName = opts.topicName ?? 'OrderProcessing';
  const provider = new common.ConfigFileAuthenticationDetailsProvider(opts.configFile, opts.profile ?? 'DEFAULT');
  const cp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider: provider });
  const dp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider: provider });
  // The config's region already set an OCI endpoint in the constructors; pointing at Herald comes after.
  cp.endpoint = opts.heraldEndpoint;
  dp.endpoint = opts.heraldEndpoint;

  const orders = new Map<string, Order>();
  let nextNumber = 1001;
  let topicId: string | undefined;

  // Looked up on first use, not at start: the service starts before the topic exists.
  async function orderTopic(): Promise<string> {
    if (topicId !== undefined) return topicId;
    const res = await cp.listTopics({ compartmentId: provider.getTenantId(), name: topicName });
    const topic = res.items[0];
    if (topic === undefined) throw new HttpError(503, `Topic ${topicName} does not exist yet.`);
    // OCI's data plane lives at the topic's apiEndpoint; the SDK appends /20181201 itself.
    dp.endpoint = topic.apiEndpoint;
    topicId = topic.topicId;
    return topicId;
  }

  async function placeOrder(body: Record<string, unknown>): Promise<Order> {
    const input = parseNewOrder(body);
    const total = Math.round(input.items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0) * 100) / 100;
    const order: Order = { orderId: `ORD-${nextNumber++}`, ...input, total, status: 'PLACED', placedAt: new Date().toISOString() };
    orders.set(order.orderId, order);
    const published = await dp.publishMessage({
      topicId: await orderTopic(),
      messageDetails: { title: 'New Order', body: orderMessageBody(order) },
    });
    order.messageId = published.publishResult.messageId;
    return order;
  }

  async function route(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'POST' && path === '/orders') return { status: 201, body: await placeOrder(await readJson(req)) };
    if (req.method === 'GET' && path === '/orders') return { status: 200, body: [...orders.values()] };
    const m = /^\/orders\/([^/]+)(\/label)?$/.exec(path);
    const order = m ? orders.get(decodeURIComponent(m[1]!)) : undefined;
    if (m && order === undefined) throw new HttpError(404, `No order ${decodeURIComponent(m[1]!)}.`);
    if (m && order && req.method === 'GET' && m[2] === undefined) return { status: 200, body: order };
    if (m && order && req.method === 'POST' && m[2] === '/label') {
      const label = await readJson(req);
      if (typeof label.trackingNumber !== 'string') throw new HttpError(400, 'A label needs a trackingNumber.');
      // Posting the same label again (a redelivered message) just stores it again: idempotent.
      order.label = label;
      order.status = 'LABELLED';
      return { status: 200, body: order };
    }
    throw new HttpError(404, `No route ${req.method ?? ''} ${path}.`);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req).then(
      ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 502;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    orders,
    async close() {
      cp.close();
      dp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const service = await startOrderService({
    heraldEndpoint: process.env.HERALD_ENDPOINT ?? 'http://127.0.0.1:8080',
    configFile: process.env.OCI_CLI_CONFIG_FILE ?? join(homedir(), '.herald', 'oci', 'config'),
    port: Number(process.env.PORT ?? 3000),
  });
  process.stdout.write(`Order service listening on ${service.url}\n`);
}
