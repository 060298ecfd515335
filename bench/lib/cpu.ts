/** CPU time from /proc (Linux), to show where the cores went during a window. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** utime + stime of `pid` in seconds, or NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Seconds the hypervisor ran something else while this machine's virtual CPUs wanted to run (steal), and all CPU
 * seconds, from /proc/stat: on a shared host steal is CPU no process here could use.
 */
export function machineStealSeconds(): { steal: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    return { steal: (f[7] ?? 0) / TICKS_PER_SECOND, total: f.slice(0, 8).reduce((a, b) => a + b, 0) / TICKS_PER_SECOND };
  } catch {
    return { steal: Number.NaN, total: Number.NaN };
  }
}

/**
 * Percent of one core each pid used between start() and stop(), plus `machine`:
 * the whole box (200% = both cores busy), so contention from other work shows.
 */
export class CpuMeter {
  private start0 = new Map<number, number>();
  private machine0 = 0;
  private t0 = 0;

  constructor(private readonly pids: Record<string, number>) {}

  start(): this {
    this.t0 = performance.now();
    this.machine0 = machineBusySeconds();
    for (const pid of Object.values(this.pids)) this.start0.set(pid, cpuSeconds(pid));
    return this;
  }

  /** CPU seconds each pid used between start() and the last stop(), unrounded (for costs per operation). */
  readonly seconds: Record<string, number> = {};

  stop(): Record<string, number> {
    const wall = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      this.seconds[name] = cpuSeconds(pid) - this.start0.get(pid)!;
      out[name] = Math.round((this.seconds[name] / wall) * 100);
    }
    out.machine = Math.round(((machineBusySeconds() - this.machine0) / wall) * 100);
    return out;
  }
}

/** Resident set size of `pid` in MB (VmRSS of /proc/<pid>/status), or NaN when it cannot be read. */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** RssAnon / RssFile / RssShmem of `pid` in MB: heap and native allocations vs mapped files. */
export function rssBreakdownMb(pid: number): { anon: number; file: number; shmem: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => {
      const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
      return m === null ? Number.NaN : Number(m[1]) / 1024;
    };
    return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return { anon: Number.NaN, file: Number.NaN, shmem: Number.NaN };
  }
}

/**
 * Bytes `pid` has had the kernel write to storage for it (`write_bytes` of /proc/<pid>/io: counted as its pages
 * are dirtied, so a page written again before writeback counts once), or NaN when it cannot be read.
 */
export function writeBytes(pid: number): number {
  try {
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]);
  } catch {
    return Number.NaN;
  }
}
