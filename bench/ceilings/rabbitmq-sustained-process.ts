/**
 * One side of RabbitMQ doing (j)'s job, in a process of its own (two are started: a
 * publisher and a consumer, as Herald's load generator and receiver are separate):
 * - setup/teardown/purge: a fanout exchange bound to `queues` durable classic queues;
 * - publish: persistent 1 KB messages on a confirm channel, open loop on a fixed
 *   schedule from `t0` (CLOCK_MONOTONIC ms) with no cap on unconfirmed messages (the
 *   schedule is never slowed); answers once every confirm is in or the time is up;
 * - consume: one channel per queue, prefetch 256, manual ack of every message; counts
 *   each window's messages by their `type` (the window's tag) and when the last came.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type ConfirmChannel, type Channel, type ChannelModel } from 'amqplib';
import { serveParent } from '../lib/children.js';
import { nowMs, percentiles, sleep } from '../lib/stats.js';

const BODY = Buffer.from(JSON.stringify({ tag: 'rabbit', off: '0', pad: 'x'.repeat(990) }));
const PREFETCH = 256;

let conn: ChannelModel | undefined;
let pubCh: ConfirmChannel | undefined;
let exchange = '';
let names: string[] = [];
const consumerChannels: Channel[] = [];
const counts = new Map<string, { count: number; lastAt: number }>();

async function connection(url: string): Promise<ChannelModel> {
  conn ??= await amqp.connect(url);
  return conn;
}

serveParent(
  {
    setup: async (m) => {
      const c = await connection(String(m.url));
      pubCh = await c.createConfirmChannel();
      const prefix = `herald-bench-sus-${randomBytes(4).toString('hex')}`;
      exchange = `${prefix}-fanout`;
      names = Array.from({ length: Number(m.queues ?? 10) }, (_, i) => `${prefix}-q${i}`);
      await pubCh.assertExchange(exchange, 'fanout', { durable: true });
      for (const q of names) {
        await pubCh.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } });
        await pubCh.bindQueue(q, exchange, '');
      }
      return { exchange, names };
    },
    purge: async () => {
      for (const q of names) await pubCh?.purgeQueue(q);
      return {};
    },
    teardown: async () => {
      for (const q of names) await pubCh?.deleteQueue(q).catch(() => undefined);
      await pubCh?.deleteExchange(exchange).catch(() => undefined);
      await pubCh?.close().catch(() => undefined);
      pubCh = undefined;
      return {};
    },
    publish: async (m) => {
      const ch = pubCh;
      if (ch === undefined) throw new Error('publish before setup');
      const tag = String(m.tag);
      const rate = Number(m.rate);
      const n = Math.max(1, Math.round(rate * Number(m.seconds)));
      const t0 = Number(m.t0);
      const waitUntil = Number(m.confirmDeadline);
      let confirmed = 0;
      let nacked = 0;
      const acks: number[] = [];
      const lags: number[] = [];
      let i = 0;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = nowMs();
          while (i < n && t0 + (i * 1000) / rate <= now) {
            const scheduled = t0 + (i * 1000) / rate;
            lags.push(nowMs() - scheduled);
            ch.publish(exchange, '', BODY, { persistent: true, contentType: 'application/json', type: tag }, (err) => {
              if (err) nacked++;
              else {
                confirmed++;
                acks.push(nowMs() - scheduled);
              }
            });
            i++;
          }
          if (i >= n) return resolve();
          setTimeout(tick, Math.max(0, t0 + (i * 1000) / rate - nowMs() - 0.5));
        };
        tick();
      });
      while (confirmed + nacked < n && nowMs() < waitUntil) await sleep(20);
      return { sent: n, confirmed, nacked, confirmMs: percentiles(acks), sendLagMs: percentiles(lags) };
    },
    consume: async (m) => {
      const c = await connection(String(m.url));
      for (const q of (m.names as string[]) ?? []) {
        const ch = await c.createChannel();
        await ch.prefetch(PREFETCH);
        await ch.consume(
          q,
          (msg) => {
            if (msg === null) return;
            const tag = msg.properties.type as string | undefined;
            if (tag !== undefined) {
              const e = counts.get(tag);
              if (e === undefined) counts.set(tag, { count: 1, lastAt: nowMs() });
              else {
                e.count++;
                e.lastAt = nowMs();
              }
            }
            ch.ack(msg);
          },
          { noAck: false },
        );
        consumerChannels.push(ch);
      }
      return { consumers: consumerChannels.length };
    },
    count: (m) => {
      const e = counts.get(String(m.tag));
      return { count: e?.count ?? 0, dupes: 0, lastAtMs: e?.lastAt ?? Number.NaN };
    },
    forget: (m) => {
      counts.delete(String(m.tag));
      return {};
    },
    stopConsuming: async () => {
      for (const ch of consumerChannels.splice(0)) await ch.close().catch(() => undefined);
      counts.clear();
      return {};
    },
    close: async () => {
      await conn?.close().catch(() => undefined);
      conn = undefined;
      return {};
    },
  },
  { pid: process.pid },
);
