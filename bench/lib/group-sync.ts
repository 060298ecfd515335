/**
 * Durable appends in groups, as the durable yardsticks make them: `append` writes at once (into the page cache) and
 * calls `done` once an fdatasync that started after the write has finished. While one runs, later appends wait for
 * the next, which starts when it ends and covers them all (as Herald's publish group commit waits for its WAL's fsync).
 */
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GroupSync {
  append(body: Buffer, done: () => void): void;
}

/**
 * The file lives in a temporary directory removed when the process exits, also when the bench stops it with SIGTERM
 * (which skips 'exit' unless handled: every yardstick server that made one left its directory behind).
 */
export function groupSync(): GroupSync {
  const dir = mkdtempSync(join(tmpdir(), 'herald-durable-ceiling-'));
  const fd = openSync(join(dir, 'log'), 'a');
  process.once('exit', () => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  process.once('SIGTERM', () => process.exit(0));
  let running = false;
  let waiting: (() => void)[] = [];
  const next = (): void => {
    if (running || waiting.length === 0) return;
    running = true;
    const group = waiting;
    waiting = [];
    fdatasync(fd, (err) => {
      running = false;
      if (err) throw err;
      for (const done of group) done();
      next();
    });
  };
  return {
    append(body, done) {
      writeSync(fd, body);
      waiting.push(done);
      next();
    },
  };
}
