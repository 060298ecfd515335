/**
 * Delivery ceiling: a bare undici `Pool.request` client POSTing 1 KB webhook-shaped
 * requests (Herald's header set) to the bench receiver, closed loop, in a process of
 * its own. `run` answers requests/s inside the measured window.
 */
import { Pool } from 'undici';
import { serveParent } from '../lib/children.js';
import { nowMs, percentiles } from '../lib/stats.js';

const BODY = JSON.stringify({ tag: 'ceiling', off: '0', pad: 'x'.repeat(990) });

async function run(m: Record<string, unknown>): Promise<unknown> {
  const url = new URL(String(m.url));
  const connections = Number(m.connections);
  const warmupMs = Number(m.warmupMs);
  const durationMs = Number(m.durationMs);
  const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Herald-Notifications/0.1',
    'x-oci-ns-topicocid': 'ocid1.onstopic.oc1..aaaaaaaabenchbenchbenchbenchbenchbenchbenchbenchbenchbench',
    'x-oci-ns-topicname': 'bench',
    'x-oci-ns-unsubscribeurl': `${url.origin}/20181201/subscriptions/ocid1.onssubscription.oc1..bench/unsubscription?token=abcdefabcdefabcdefabcdefabcdefabcdef&protocol=CUSTOM_HTTPS`,
    'x-oci-ns-timestamp': new Date().toISOString(),
    'x-oci-ns-messagetype': 'Notification',
    'webhook-id': 'ocid1.onsmessage.oc1..bench',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  };
  const start = nowMs();
  const windowStart = start + warmupMs;
  const end = windowStart + durationMs;
  let ok = 0;
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  let cpuWindow: NodeJS.CpuUsage | undefined;
  const worker = async (): Promise<void> => {
    while (nowMs() < end) {
      const t = nowMs();
      if (cpuWindow === undefined && t >= windowStart) cpuWindow = process.cpuUsage();
      const res = await pool.request({ method: 'POST', path: `${url.pathname}`, headers, body: BODY });
      await res.body.dump();
      const done = nowMs();
      if (done >= windowStart && done <= end && res.statusCode === 200) {
        ok++;
        if (t >= windowStart) lat.push(done - t);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const cpu = process.cpuUsage(cpuWindow ?? cpu0);
  await pool.close();
  const rate = ok / (durationMs / 1000);
  return { rate, latencyMs: percentiles(lat), cpuUsPerRequest: ok === 0 ? Number.NaN : (cpu.user + cpu.system) / ok };
}

serveParent({ run }, { pid: process.pid });
