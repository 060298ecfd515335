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
 * Polls a process group's RSS: at least every `busyPollMs` while calls run, every `idlePollMs` otherwise,
 * and calls `onBreach` once when it crosses `limitKb`. The caller kills the group.
 *
 * A call's start polls at once only when the last poll is older than `busyPollMs`: back-to-back calls
 * share the busy cadence instead of each reading /proc (a dozen thread-pool reads that ran beside every
 * call's socket exchange). Detection is no later for it: memory a call allocates is seen within
 * `busyPollMs` of its start, as within a long call. A call's end never postpones a poll that is due
 * sooner, so short calls arriving faster than the idle period still get polled at the busy cadence.
 */
export class MemoryWatchdog {
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (performance.now() ms); Infinity when none is armed. */
  private dueAt = Number.POSITIVE_INFINITY;
  private lastPollAt: number;
  private busy = false;
  /** A call ran since the last poll began: the next poll follows the busy cadence. */
  private busySincePoll = false;
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
    /** How a poll reads the group's RSS (kB); tests wrap it to see when polls happen. */
    private readonly readRss: (pgid: number) => Promise<number> = readGroupRssKb,
  ) {
    this.lastPollAt = performance.now();
  }

  start(): void {
    this.arm(this.lastPollAt + this.idlePollMs);
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    if (!busy) return;
    this.busySincePoll = true;
    this.arm(this.lastPollAt + this.busyPollMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  /** Arms the timer for `at` unless one is armed for sooner (or a poll is running: it re-arms when done). */
  private arm(at: number): void {
    if (this.stopped || this.polling) return;
    if (this.timer !== null && this.dueAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    const now = performance.now();
    this.dueAt = Math.max(now, at);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      void this.poll();
    }, this.dueAt - now);
    // The watchdog alone must not keep Herald alive.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    this.lastPollAt = performance.now();
    // A call still running, or one that starts while this poll reads, keeps the busy cadence.
    this.busySincePoll = this.busy;
    try {
      const rss = await this.readRss(this.pgid);
      if (rss > this.peakKb) this.peakKb = rss;
      if (!this.stopped && rss > this.limitKb) {
        this.stop();
        this.onBreach(rss);
        return;
      }
    } finally {
      this.polling = false;
    }
    this.arm(this.lastPollAt + (this.busySincePoll || this.busy ? this.busyPollMs : this.idlePollMs));
  }
}
