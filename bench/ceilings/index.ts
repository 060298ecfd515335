/**
 * The ceilings, measured in the same run on this machine, each in its own process:
 * publish (bare node:http driven by the same closed-loop client as Herald; the same server checking each
 * request's OCI signature too, in one process and in one per core), delivery
 * (bare undici Pool client to the bench receiver; beside it, a durable and signed sender built from Herald's own
 * store and webhook handler on one thread) and RabbitMQ durable fan-out; when
 * the sustained scenario (j) runs, RabbitMQ doing its job on the same rate ladder too.
 */
import type { BenchConfig } from '../lib/config.js';
import { Child } from '../lib/children.js';
import { summariseLadder, type LadderFigures, type LadderRun } from '../lib/ladder.js';
import { CpuMeter } from '../lib/cpu.js';
import { closedLoop } from '../lib/load.js';
import { presign, publicKeyPem, publishBody, throwawayCredentials } from '../lib/signing.js';
import { summarise, type Summary } from '../lib/stats.js';
import type { DurableSenderRun } from './durable-sender.js';
import { measureRabbitSustained } from './rabbitmq-sustained.js';

export interface CeilingResults {
  publish: Summary;
  publishRuns: unknown[];
  /**
   * The publish ceiling's server doing the OCI signature check as well (no store, no routing), in one process
   * and with one process per core: the most any publish endpoint that checks signatures reaches on this machine.
   */
  signedPublish?: Record<SignedMode, Summary>;
  signedPublishRuns?: Record<SignedMode, unknown[]>;
  delivery: Summary;
  /** The bare undici client's CPU per request, µs (its process, inside the measured window). */
  deliveryCpuUs: Summary;
  deliveryRuns: unknown[];
  /**
   * (b)'s yardstick (`durable-sender.ts`): Herald's SQLite claims and batched completions and its webhook handler in one
   * loop on one thread, draining a backlog the size of (b)'s to the same receiver; its deliveries/s and CPU µs a delivery.
   */
  durableSender?: { rate: Summary; cpuUs: Summary };
  durableSenderRuns?: DurableSenderRun[];
  rabbit: Summary | undefined;
  rabbitRuns: unknown[];
  rabbitError?: string;
  /** (j): RabbitMQ doing the sustained fan-out job (when the sustained scenario runs). */
  rabbitSustained?: LadderFigures;
  rabbitSustainedRuns?: LadderRun[];
  rabbitSustainedError?: string;
}

export const DELIVERY_CEILING_CONNECTIONS = 64;

/** The two ceilings measured once more after the scenarios: how far the machine's speed moved during the run. */
export interface CeilingsAtEnd {
  publish: number;
  delivery: number;
}

/** How the signed publish ceiling runs its checks (`signed-http-server.ts`). */
export type SignedMode = 'inline' | 'cluster' | 'durable' | 'durable-cluster';
const SIGNED_MODES: Record<SignedMode, string> = {
  inline: 'one process',
  cluster: 'one process per core (node:cluster)',
  durable: 'one process, each body appended to a file and answered after a group fdatasync',
  'durable-cluster': 'one process per core, each appending to a file of its own and answering after its group fdatasync',
};

async function publishCeiling(
  cfg: BenchConfig,
  runs: number,
  log: (s: string) => void,
  label = '',
  signed?: SignedMode,
): Promise<{ rate: number; cpu: Record<string, number> }[]> {
  const warmupMs = cfg.warmupSeconds * 1000;
  const durationMs = cfg.seconds * 1000;
  const creds = throwawayCredentials();
  const { child: http, ready } =
    signed === undefined
      ? await Child.start<{ url: string; pid: number }>('http ceiling', new URL('./http-server.ts', import.meta.url))
      : await Child.start<{ url: string; pids: number[] }>('signed http ceiling', new URL('./signed-http-server.ts', import.meta.url), {
          SIGNED_CEILING_MODE: signed,
          SIGNED_CEILING_KEY_ID: creds.keyId,
          SIGNED_CEILING_PUBLIC_KEY: publicKeyPem(creds),
        });
  const servers = 'pid' in ready ? { server: ready.pid } : Object.fromEntries(ready.pids.map((pid, i) => [`server${i}`, pid]));
  const name = signed === undefined ? 'bare node:http' : `bare node:http + OCI signature check, ${SIGNED_MODES[signed]}`;
  const topic = 'ocid1.onstopic.oc1..aaaaaaaabenchbenchbenchbenchbenchbenchbenchbenchbenchbench';
  const requests = Array.from({ length: 8 }, (_, i) => presign(ready.url, creds, 'POST', `/20181201/topics/${topic}/messages`, publishBody('closed', i)));
  const out = [];
  try {
    for (let r = 0; r < runs; r++) {
      const cpu = new CpuMeter({ ...servers, loadgen: process.pid }).start();
      const res = await closedLoop({ origin: ready.url, requests, connections: cfg.connections, warmupMs, durationMs });
      // A refused signature would make this ceiling a count of 401s: every answer must be a 200.
      if (res.errors > 0 || Object.keys(res.statuses).some((s) => s !== '200')) {
        throw new Error(`${name} answered ${JSON.stringify(res.statuses)} with ${res.errors} errors`);
      }
      out.push({ ...res, cpu: cpu.stop() });
      log(`  publish ceiling (${name}, c=${cfg.connections})${label} run ${r + 1}: ${Math.round(res.rate)} req/s`);
    }
  } finally {
    await http.stop();
  }
  return out;
}

type DeliveryCeilingRun = { rate: number; cpuUsPerRequest: number };

/** One run of the bare undici client (a child of undici-client.ts). */
async function deliveryCeilingRun(client: Child, cfg: BenchConfig, receiverUrl: string, log: (s: string) => void, label: string): Promise<DeliveryCeilingRun> {
  const res = await client.request<DeliveryCeilingRun>('run', {
    url: `${receiverUrl}/ceiling`,
    connections: DELIVERY_CEILING_CONNECTIONS,
    warmupMs: cfg.warmupSeconds * 1000,
    durationMs: cfg.seconds * 1000,
  });
  log(`  delivery ceiling (bare undici Pool, c=${DELIVERY_CEILING_CONNECTIONS})${label}: ${Math.round(res.rate)} req/s, client CPU ${res.cpuUsPerRequest.toFixed(1)} µs/request`);
  return res;
}

/** One run of (b)'s yardstick (a child of durable-sender.ts): a fresh store with `drainMessages` × 10 deliveries, drained. */
async function durableSenderRun(child: Child, cfg: BenchConfig, receiverUrl: string, log: (s: string) => void, label: string): Promise<DurableSenderRun> {
  const res = await child.request<DurableSenderRun>('run', { url: `${receiverUrl}/yardstick`, messages: cfg.drainMessages });
  // Deliveries the receiver failed would make the rate one of failures: every one must be delivered.
  if (res.undelivered > 0) throw new Error(`the durable sender yardstick left ${res.undelivered} of ${res.deliveries} deliveries undelivered`);
  log(`  delivery yardstick (Herald's SQLite claims and completions + its webhook handler, one thread)${label}: ${res.deliveries} deliveries at ${Math.round(res.rate)}/s, CPU ${res.cpuUsPerDelivery.toFixed(1)} µs/delivery`);
  return res;
}

/**
 * The bare undici client and, unless `withYardstick` is false, (b)'s yardstick, run after run in turn: this machine's
 * speed moves by a factor of two or more within minutes, and the yardstick's ratio to the ceiling is only worth
 * something when both were measured in the same spell.
 */
async function deliveryCeilings(
  cfg: BenchConfig,
  receiverUrl: string,
  runs: number,
  log: (s: string) => void,
  withYardstick: boolean,
  label = '',
): Promise<{ ceiling: DeliveryCeilingRun[]; yardstick: DurableSenderRun[] }> {
  const { child: client } = await Child.start('undici ceiling', new URL('./undici-client.ts', import.meta.url));
  const sender = withYardstick ? (await Child.start('durable sender yardstick', new URL('./durable-sender.ts', import.meta.url))).child : undefined;
  const out: { ceiling: DeliveryCeilingRun[]; yardstick: DurableSenderRun[] } = { ceiling: [], yardstick: [] };
  try {
    for (let r = 0; r < runs; r++) {
      out.ceiling.push(await deliveryCeilingRun(client, cfg, receiverUrl, log, `${label} run ${r + 1}`));
      if (sender !== undefined) out.yardstick.push(await durableSenderRun(sender, cfg, receiverUrl, log, `${label} run ${r + 1}`));
    }
  } finally {
    await client.stop();
    await sender?.stop();
  }
  return out;
}

/**
 * The publish and delivery ceilings once more, after every scenario: a shared machine's speed moves during a run
 * of half an hour (by a factor of two, seen here), and the ratios are only as good as the ceilings they divide by.
 */
export async function measureCeilingsAtEnd(cfg: BenchConfig, receiverUrl: string, log: (s: string) => void): Promise<CeilingsAtEnd> {
  const [publish] = await publishCeiling(cfg, 1, log, ' at the end');
  const [delivery] = (await deliveryCeilings(cfg, receiverUrl, 1, log, false, ' at the end')).ceiling;
  return { publish: publish?.rate ?? Number.NaN, delivery: delivery?.rate ?? Number.NaN };
}

export async function measureCeilings(cfg: BenchConfig, receiverUrl: string, log: (s: string) => void): Promise<CeilingResults> {
  const warmupMs = cfg.warmupSeconds * 1000;
  const durationMs = cfg.seconds * 1000;
  // Publish ceiling: requests of Herald's exact shape (signed headers, 1 KB body).
  const publishRuns = await publishCeiling(cfg, cfg.runs, log);
  // One mode after another: two servers at once would share the machine.
  const signedPublishRuns = {} as Record<SignedMode, { rate: number; cpu: Record<string, number> }[]>;
  for (const mode of Object.keys(SIGNED_MODES) as SignedMode[]) signedPublishRuns[mode] = await publishCeiling(cfg, cfg.runs, log, '', mode);
  const { ceiling: deliveryRuns, yardstick: durableSenderRuns } = await deliveryCeilings(cfg, receiverUrl, cfg.runs, log, true);

  const { child: rabbit } = await Child.start('rabbitmq ceiling', new URL('./rabbitmq.ts', import.meta.url));
  const rabbitRuns: { rate: number }[] = [];
  let rabbitError: string | undefined;
  try {
    for (let r = 0; r < cfg.runs; r++) {
      const res = await rabbit.request<{ rate: number }>('run', { url: cfg.amqpUrl, window: 256, queues: 10, warmupMs, durationMs });
      rabbitRuns.push(res);
      log(`  RabbitMQ classic fan-out to 10 durable queues, confirms, window 256, run ${r + 1}: ${Math.round(res.rate)} msg/s`);
    }
  } catch (err) {
    rabbitError = err instanceof Error ? err.message.split('\n')[0] : String(err);
    log(`  RabbitMQ ceiling unavailable: ${rabbitError}`);
  }
  await rabbit.stop();

  let rabbitSustainedRuns: LadderRun[] | undefined;
  let rabbitSustainedError: string | undefined;
  if (cfg.scenarios.has('sustained')) {
    log(`  RabbitMQ doing (j)'s job: open loop at ${cfg.sustainedRates.join(', ')}/s into a fanout exchange → 10 durable queues, confirms, 10 acking consumers`);
    try {
      rabbitSustainedRuns = await measureRabbitSustained(cfg, log);
    } catch (err) {
      rabbitSustainedError = err instanceof Error ? err.message.split('\n')[0] : String(err);
      log(`  RabbitMQ sustained fan-out unavailable: ${rabbitSustainedError}`);
    }
  }

  return {
    publish: summarise(publishRuns.map((r) => r.rate)),
    publishRuns,
    signedPublish: Object.fromEntries(
      Object.entries(signedPublishRuns).map(([mode, runs]) => [mode, summarise(runs.map((r) => r.rate))]),
    ) as Record<SignedMode, Summary>,
    signedPublishRuns,
    delivery: summarise(deliveryRuns.map((r) => r.rate)),
    deliveryCpuUs: summarise(deliveryRuns.map((r) => r.cpuUsPerRequest)),
    deliveryRuns,
    durableSender: { rate: summarise(durableSenderRuns.map((r) => r.rate)), cpuUs: summarise(durableSenderRuns.map((r) => r.cpuUsPerDelivery)) },
    durableSenderRuns,
    rabbit: rabbitRuns.length > 0 ? summarise(rabbitRuns.map((r) => r.rate)) : undefined,
    rabbitRuns,
    rabbitError,
    ...(rabbitSustainedRuns !== undefined ? { rabbitSustained: summariseLadder(rabbitSustainedRuns, 10), rabbitSustainedRuns } : {}),
    ...(rabbitSustainedError !== undefined ? { rabbitSustainedError } : {}),
  };
}
