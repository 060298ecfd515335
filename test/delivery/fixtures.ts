/** Hand-built records and a real capturing HTTP server for the delivery tests. */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, Protocol, Subscription, Topic } from '../../src/core/models.js';
import { HEALTHY } from '../../src/core/models.js';
import type { SendContext } from '../../src/delivery/protocol.js';

export const TOPIC_ID = 'ocid1.onstopic.oc1.iad.aaaaaaaatopictopictopictopic';
export const SUB_ID = 'ocid1.onssubscription.oc1.iad.aaaaaaaasubsubsubsubsubsub';
export const UNSUBSCRIBE_URL = `http://herald.test/20181201/subscriptions/${SUB_ID}/unsubscription?token=tok-unsub&protocol=CUSTOM_HTTPS`;
export const CONFIRM_URL = `http://herald.test/20181201/subscriptions/${SUB_ID}/confirmation?token=tok-confirm&protocol=CUSTOM_HTTPS`;
export const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export function topic(overrides: Partial<Topic> = {}): Topic {
  return {
    id: TOPIC_ID,
    tenancyId: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
    compartmentId: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
    name: 'orders-events',
    shortId: 'ABCDEFGHIJ',
    description: null,
    freeformTags: {},
    definedTags: {},
    lifecycleState: 'ACTIVE',
    etag: 'abcd1234',
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

export function subscription(protocol: Protocol, endpoint: string, overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: SUB_ID,
    tenancyId: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
    compartmentId: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
    topicId: TOPIC_ID,
    protocol,
    endpoint,
    metadata: null,
    lifecycleState: 'ACTIVE',
    etag: 'abcd1234',
    createdAt: 0,
    updatedAt: 0,
    maxRetryDurationMs: 7_200_000,
    freeformTags: {},
    definedTags: {},
    confirmationTokenHash: null,
    confirmationExpiresAt: null,
    confirmationNonce: 3,
    unsubscribeTokenHash: 'hash',
    activatedAt: 0,
    deletedAt: null,
    filterPolicy: null,
    rateLimitPerSecond: null,
    health: { ...HEALTHY },
    ...overrides,
  };
}

export function message(body: string, overrides: Partial<Message> = {}): Message {
  return {
    id: '6f1c2b1e-9a51-4c47-9d2a-0c9b3a3b1f00',
    tenancyId: 'ocid1.tenancy.oc1..aaaaaaaatenancy',
    topicId: TOPIC_ID,
    title: null,
    body,
    messageType: 'RAW_TEXT',
    publishedAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    traceParent: null,
    ...overrides,
  };
}

export function messageCtx(sub: Subscription, msg: Message, overrides: Partial<SendContext> = {}): SendContext {
  return {
    kind: 'MESSAGE',
    deliveryId: 1,
    attemptNo: 1,
    subscription: sub,
    topic: topic(),
    message: msg,
    confirmationUrl: null,
    unsubscribeUrl: UNSUBSCRIBE_URL,
    signal: new AbortController().signal,
    traceParent: null,
    ...overrides,
  };
}

export function confirmationCtx(sub: Subscription, overrides: Partial<SendContext> = {}): SendContext {
  return {
    kind: 'CONFIRMATION',
    deliveryId: 2,
    attemptNo: 1,
    subscription: { ...sub, lifecycleState: 'PENDING' },
    topic: topic(),
    message: null,
    confirmationUrl: CONFIRM_URL,
    unsubscribeUrl: UNSUBSCRIBE_URL,
    signal: new AbortController().signal,
    traceParent: null,
    ...overrides,
  };
}

export interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  remotePort: number | undefined;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type Responder = (req: Captured, res: ServerResponse) => Reply | undefined | void;

export interface CaptureServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly requests: Captured[];
  respond: Responder;
  close(): Promise<void>;
}

/** A real node:http server on 127.0.0.1 that records every request and answers as told. */
export async function captureServer(respond: Responder = () => ({ status: 200, body: 'ok' })): Promise<CaptureServer> {
  const requests: Captured[] = [];
  const state = { respond };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const captured: Captured = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      };
      requests.push(captured);
      const reply = state.respond(captured, res);
      if (!reply) return; // the responder took over (or deliberately never answers)
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    get respond() {
      return state.respond;
    },
    set respond(r: Responder) {
      state.respond = r;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
