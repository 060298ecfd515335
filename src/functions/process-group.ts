import { rmSync } from 'node:fs';

/**
 * Function processes run in their own process groups (spawned detached) so that a
 * kill reaches grandchildren. The flip side: they would outlive a Herald that exits
 * without close(). As a last resort, every live group is SIGKILLed (and its private
 * dir removed) when Herald's process exits. A SIGKILLed Herald cannot do this: its
 * idle function processes then stay parked on their sockets until killed.
 */
const liveGroups = new Map<number, string>();
let exitHookInstalled = false;

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
}

export function trackGroup(pgid: number, dir: string): void {
  liveGroups.set(pgid, dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [pg, d] of liveGroups) {
      killGroup(pg, 'SIGKILL');
      rmSync(d, { recursive: true, force: true });
    }
  });
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}
