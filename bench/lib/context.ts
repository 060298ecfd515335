/** What every scenario gets: the config, the shared receiver process and a logger. */
import type { Child } from './children.js';
import type { BenchConfig, StoreKind } from './config.js';
import { startHerald, type HeraldHandle } from './herald.js';

export interface ReceiverStats {
  delivered: number;
  other: number;
  confirmations: number;
  held: number;
  atMs: number;
  firstAtMs: number;
  lastAtMs: number;
}

export interface BenchContext {
  cfg: BenchConfig;
  receiver: Child;
  receiverUrl: string;
  receiverPid: number;
  log: (line: string) => void;
}

/** A fresh Herald with one topic and `subs` confirmed CUSTOM_HTTPS subscriptions to the receiver. */
export async function heraldWithTopic(
  ctx: BenchContext,
  store: StoreKind,
  subs: number,
  env: Record<string, string> = {},
): Promise<{ herald: HeraldHandle; topicId: string }> {
  const herald = await startHerald(ctx.cfg, store, env);
  try {
    const topicId = await herald.api.createTopic(`bench-${subs}`);
    await herald.api.subscribe(topicId, ctx.receiverUrl, subs);
    await ctx.receiver.request<ReceiverStats>('reset');
    return { herald, topicId };
  } catch (err) {
    await herald.stop({ kill: true });
    throw err;
  }
}

/** SIGKILL saves seconds of graceful drain between runs; a CPU profile needs a clean exit. */
export function stopFast(ctx: BenchContext, herald: HeraldHandle): Promise<void> {
  return herald.stop({ kill: ctx.cfg.cpuProfDir === undefined });
}
