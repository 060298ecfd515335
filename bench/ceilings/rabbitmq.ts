/**
 * Peer anchor: RabbitMQ durable fan-out. A fanout exchange bound to 10 durable
 * classic queues, persistent 1 KB messages, a confirm channel with at most `window`
 * unconfirmed messages. `run` answers confirmed messages/s; the queues are deleted after.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { serveParent } from '../lib/children.js';
import { nowMs, percentiles } from '../lib/stats.js';

async function run(m: Record<string, unknown>): Promise<unknown> {
  const windowSize = Number(m.window ?? 256);
  const queues = Number(m.queues ?? 10);
  const warmupMs = Number(m.warmupMs);
  const durationMs = Number(m.durationMs);
  const conn = await amqp.connect(String(m.url));
  const ch = await conn.createConfirmChannel();
  const prefix = `herald-bench-${randomBytes(4).toString('hex')}`;
  const exchange = `${prefix}-fanout`;
  const names = Array.from({ length: queues }, (_, i) => `${prefix}-q${i}`);
  try {
    await ch.assertExchange(exchange, 'fanout', { durable: true });
    for (const q of names) {
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await ch.bindQueue(q, exchange, '');
    }
    const body = Buffer.from(JSON.stringify({ tag: 'rabbit', off: '0', pad: 'x'.repeat(990) }));
    const start = nowMs();
    const windowStart = start + warmupMs;
    const end = windowStart + durationMs;
    let outstanding = 0;
    let confirmed = 0;
    let failed = 0;
    const lat: number[] = [];
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (outstanding < windowSize && nowMs() < end) {
          outstanding++;
          const t = nowMs();
          ch.publish(exchange, '', body, { persistent: true, contentType: 'application/json' }, (err) => {
            outstanding--;
            const done = nowMs();
            if (err) failed++;
            else if (done >= windowStart && done <= end) {
              confirmed++;
              if (t >= windowStart) lat.push(done - t);
            }
            setImmediate(pump);
          });
        }
        if (outstanding === 0 && nowMs() >= end) resolve();
      };
      pump();
    });
    return { rate: confirmed / (durationMs / 1000), failed, confirmMs: percentiles(lat), window: windowSize, queues };
  } finally {
    for (const q of names) await ch.deleteQueue(q).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await ch.close().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

serveParent({ run }, { pid: process.pid });
