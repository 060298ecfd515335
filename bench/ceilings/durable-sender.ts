/**
 * (b)'s yardstick: the least a durable, signed webhook sender built from Herald's own parts does per delivery here.
 * One loop on one thread, in a process of its own, drains a backlog of PENDING deliveries from Herald's SQLite store
 * (its claims; its `CompletionWriter`'s batched completions, at most one commit per 5 ms) through Herald's webhook
 * handler (headers, Standard Webhooks HMAC, its undici pool) under Herald's attempt deadlines, at most 64 sends at once
 * (one endpoint's limit). No engine around it: no publishing, fan-out, filters, rate limits, health, metrics or
 * delivery threads. What it reaches against the bare undici client says how much of (b)'s 0.50× any design that keeps
 * these statements and this send can have on this machine; Herald's (b) against it says what the engine adds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AttemptResult, NewDelivery } from '../../src/core/deliveries.js';
import type { ClaimedDelivery } from '../../src/core/ports/deliveries.js';
import { SubscriptionLinks } from '../../src/core/links.js';
import type { Message } from '../../src/core/models.js';
import { CompletionWriter } from '../../src/delivery/completions.js';
import { PER_ENDPOINT } from '../../src/delivery/concurrency.js';
import { AttemptDeadlines } from '../../src/delivery/deadline.js';
import { buildHttpHandlers, registryOf } from '../../src/delivery/protocols/http-handlers.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { message, subscription, topic as topicWith } from '../../test/delivery/fixtures.js';
import { serveParent } from '../lib/children.js';

// OCIDs of real length: the rows the yardstick writes are as wide as Herald's. The records are the delivery tests' own.
const TENANCY = 'ocid1.tenancy.oc1..aaaaaaaabenchbenchbenchbenchbenchbenchbenchbenchbenchbench';
const TOPIC = 'ocid1.onstopic.oc1..aaaaaaaabenchbenchbenchbenchbenchbenchbenchbenchbenchbench';
const OWNER = 'yardstick-node';
const SUBS = 10;
/** A claim is made once this many of the 64 places are free: claims of a few rows each would cost more than they carry. */
const CLAIM_AT = PER_ENDPOINT / 4;
const BODY = JSON.stringify({ tag: 'yardstick', off: '0', pad: 'x'.repeat(990) });

export interface DurableSenderRun {
  deliveries: number;
  /** Deliveries recorded DELIVERED ÷ seconds from the first claim until the last completion was written. */
  rate: number;
  /** The process's CPU (every thread: the loop, SQLite's checkpoints, V8's helpers) per delivery, µs. */
  cpuUsPerDelivery: number;
  /** Left undelivered when the drain ended (0 unless the receiver failed some). */
  undelivered: number;
}

async function run(m: Record<string, unknown>): Promise<DurableSenderRun> {
  const url = String(m.url);
  const messages = Number(m.messages);
  const dir = mkdtempSync(join(tmpdir(), 'herald-yardstick-'));
  const store = SqliteStore.open({ file: join(dir, 'herald.db'), backgroundCheckpoints: true });
  const links = new SubscriptionLinks(Buffer.alloc(32, 7), () => url);
  const handlers = buildHttpHandlers({ allowPrivateEndpoints: true, httpTimeoutMs: 10_000, signingSecret: (sub) => links.signingSecret(sub.id) });
  try {
    await store.migrate();
    const topic = topicWith({ id: TOPIC, tenancyId: TENANCY, compartmentId: TENANCY });
    const subs = Array.from({ length: SUBS }, (_, i) =>
      subscription('CUSTOM_HTTPS', url, {
        id: `ocid1.onssubscription.oc1..aaaaaaaayardstickyardstickyardstickyardstick${String(i).padStart(4, '0')}`,
        tenancyId: TENANCY,
        compartmentId: TENANCY,
        topicId: TOPIC,
      }),
    );
    const byId = new Map(subs.map((s) => [s.id, s]));
    const unsubscribe = new Map(subs.map((s) => [s.id, links.unsubscribeUrl(s)]));
    // The backlog as a publish leaves it: every message's deliveries PENDING and due, in publish order. The loop holds
    // the messages, as the engine's message cache does.
    const byMessage = new Map<string, Message>();
    const rows: NewDelivery[] = [];
    for (let i = 0; i < messages; i++) {
      const id = `ocid1.onsmessage.oc1..aaaaaaaayardstick${String(i).padStart(12, '0')}`;
      byMessage.set(id, message(BODY, { id, tenancyId: TENANCY, topicId: TOPIC, publishedAt: i }));
      for (const s of subs) rows.push({ tenancyId: TENANCY, topicId: topic.id, subscriptionId: s.id, messageId: id, kind: 'MESSAGE', protocol: s.protocol, nextAttemptAt: i, confirmationNonce: null, createdAt: i });
    }
    await store.deliveries.insertDeliveries(rows);
    const total = rows.length;

    const handler = registryOf(handlers).get('CUSTOM_HTTPS')!;
    const deadlines = new AttemptDeadlines();
    let recorded = 0;
    let allRecorded: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allRecorded = resolve));
    const completions = new CompletionWriter(
      {
        completeAttempts: async (batch, now, health) => {
          const disabled = await store.deliveries.completeAttempts(batch, now, health);
          recorded += batch.length;
          if (recorded >= total) allRecorded();
          return disabled;
        },
      },
      pino({ level: 'silent' }),
      () => undefined,
    );
    let inFlight = 0;
    let failed = 0;
    let claiming = false;
    let exhausted = false;

    const attempt = async (c: ClaimedDelivery): Promise<void> => {
      const sub = byId.get(c.subscriptionId)!;
      const startedAt = Date.now();
      const result = await deadlines.run(10_000, (signal) =>
        handler.send({
          kind: 'MESSAGE',
          deliveryId: c.id,
          attemptNo: c.attempts + 1,
          subscription: sub,
          topic,
          message: byMessage.get(c.messageId!) ?? null,
          confirmationUrl: null,
          unsubscribeUrl: unsubscribe.get(sub.id)!,
          signal,
          traceParent: null,
        }),
      );
      if (!result.ok) failed++;
      const finished: AttemptResult = {
        deliveryId: c.id,
        leaseOwner: OWNER,
        attempt: {
          deliveryId: c.id,
          attemptNo: c.attempts + 1,
          startedAt,
          durationMs: Date.now() - startedAt,
          outcome: result.ok ? 'SUCCESS' : 'FAILURE',
          statusCode: result.statusCode ?? null,
          reply: null,
          error: result.ok ? null : result.error,
          responseExcerpt: result.responseExcerpt ?? null,
          node: OWNER,
        },
        // A failure ends the delivery here (counted as undelivered): the yardstick measures the healthy path.
        transition: result.ok ? { state: 'DELIVERED' } : { state: 'DEAD' },
      };
      completions.add(finished);
    };

    const pump = async (): Promise<void> => {
      while (!claiming && !exhausted && PER_ENDPOINT - inFlight >= CLAIM_AT) {
        claiming = true;
        const now = Date.now();
        const claimed = await store.deliveries.claimDeliveries(PER_ENDPOINT - inFlight, now, now + 60_000, OWNER);
        claiming = false;
        if (claimed.length === 0) exhausted = true;
        for (const c of claimed) {
          inFlight++;
          void attempt(c).finally(() => {
            inFlight--;
            void pump();
          });
        }
      }
    };

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pump();
    await done;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { deliveries: total, rate: total / seconds, cpuUsPerDelivery: (cpu.user + cpu.system) / total, undelivered: failed };
  } finally {
    await Promise.allSettled(handlers.map((h) => h.close()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

serveParent({ run }, { pid: process.pid });
