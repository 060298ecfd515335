import { readdir, readFile } from 'node:fs/promises';

/**
 * RSS accounting for a function's processes via /proc (Linux only): its process group and
 * every descendant of the group's leader.
 *
 * Why /proc and not cgroups: cgroup v2 delegation is usually absent for an
 * unprivileged service (the reference host had none), and RLIMIT_AS kills Node at
 * startup. Why a group and not just the leader: a function may fork helpers.
 *
 * Cost model: the leader's VmRSS is read on every tick (one small file). The list of
 * other group members needs a scan of every /proc/<pid>/stat, so it is shared by all
 * watchdogs in this Herald process and refreshed at most once per MEMBER_SCAN_MS.
 */
const MEMBER_SCAN_MS = 1_000;

let lastScanAt = 0;
let scanning: Promise<ProcessTable> | null = null;
let table: ProcessTable = { byGroup: new Map(), children: new Map() };

/** Who is in which process group, and who is whose child, from one pass over /proc. */
interface ProcessTable {
  byGroup: Map<number, number[]>;
  children: Map<number, number[]>;
}

function push(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

async function scanProcesses(): Promise<ProcessTable> {
  const out: ProcessTable = { byGroup: new Map(), children: new Map() };
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return out;
  }
  await Promise.all(
    names.map(async (n) => {
      if (!/^\d+$/.test(n)) return;
      try {
        const stat = await readFile(`/proc/${n}/stat`, 'latin1');
        // Field 2 (comm) may contain spaces and parentheses: parse after the last ')'.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        push(out.children, Number(rest[1]), Number(n));
        push(out.byGroup, Number(rest[2]), Number(n));
      } catch {
        // The process exited between readdir and read.
      }
    }),
  );
  return out;
}

/**
 * Pids of the process group `pgid` and of every descendant of its leader (cached up to
 * MEMBER_SCAN_MS; always includes the leader). Descendants matter for sandboxed functions:
 * bwrap starts them in a session (and process group) of their own inside its pid namespace.
 */
async function members(pgid: number): Promise<number[]> {
  if (Date.now() - lastScanAt >= MEMBER_SCAN_MS && scanning === null) {
    scanning = scanProcesses();
    try {
      table = await scanning;
      lastScanAt = Date.now();
    } finally {
      scanning = null;
    }
  } else if (scanning !== null) {
    await scanning;
  }
  const out = new Set<number>([pgid, ...(table.byGroup.get(pgid) ?? [])]);
  const queue = [pgid];
  while (queue.length > 0) {
    for (const child of table.children.get(queue.pop()!) ?? []) {
      if (out.has(child)) continue;
      out.add(child);
      queue.push(child);
    }
  }
  return [...out];
}

/** VmRSS of one pid in kB; 0 when it is gone or a zombie. */
export async function readRssKb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'latin1');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of VmRSS over the group led by `pgid` and the leader's descendants, in kB. */
export async function readGroupRssKb(pgid: number): Promise<number> {
  const pids = await members(pgid);
  const sizes = await Promise.all(pids.map(readRssKb));
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * Polls a process group's RSS: fast while a call runs, slow while idle, and calls
 * `onBreach` once when it crosses `limitKb`. The caller kills the group.
 */
export class MemoryWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private polling = false;
  /** Highest RSS seen, for the error message and diagnostics. */
  peakKb = 0;

  constructor(
    private readonly pgid: number,
    private readonly limitKb: number,
    private readonly busyPollMs: number,
    private readonly idlePollMs: number,
    private readonly onBreach: (rssKb: number) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  /** Switch polling rate; an immediate poll on entering a call keeps a burst from slipping past. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.schedule(busy ? 0 : undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delay?: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delay ?? (this.busy ? this.busyPollMs : this.idlePollMs));
    // The watchdog alone must not keep Herald alive.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    try {
      const rss = await readGroupRssKb(this.pgid);
      if (rss > this.peakKb) this.peakKb = rss;
      if (!this.stopped && rss > this.limitKb) {
        this.stop();
        this.onBreach(rss);
        return;
      }
    } finally {
      this.polling = false;
    }
    this.schedule();
  }
}
