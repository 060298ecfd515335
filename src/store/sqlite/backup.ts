import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export interface SqliteBackupResult {
  readonly file: string;
  readonly bytes: number;
}

/** Why a backup was not made, in words for the person who asked for it. */
export class SqliteBackupError extends Error {
  constructor(
    readonly kind: 'exists' | 'no-database' | 'no-directory',
    message: string,
  ) {
    super(message);
  }
}

/** Past the first step, the whole database in one step (the largest count better-sqlite3 passes on). */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the SQLite database `source` to `dest` with SQLite's online backup API, from a connection of its own:
 * safe while Herald runs and writes in WAL mode. The copy is one snapshot. It is taken in a single backup step,
 * one read transaction: a backup done in small steps starts over whenever another connection commits between
 * two steps, so under steady publishing it would never finish. A reader blocks no writer in WAL mode; it only
 * holds the server's WAL restart back until it ends.
 *
 * The copy is written to a 0600 file beside `dest` (the database holds the link secret, console secrets and API
 * keys; SQLite gives its journal the same mode), checked, and only then put in place: a failed or interrupted
 * backup never leaves a partial file under the name asked for. Without `overwrite`, an existing `dest` is refused,
 * atomically (link(2) fails on an existing name).
 */
export async function backupSqlite(source: string, dest: string, opts: { overwrite?: boolean } = {}): Promise<SqliteBackupResult> {
  if (!opts.overwrite && (await exists(dest))) throw existsError(dest);
  if (!(await exists(dirname(dest)))) throw new SqliteBackupError('no-directory', `No directory ${dirname(dest)} to write the backup in.`);
  if (!(await exists(source))) throw new SqliteBackupError('no-database', `No Herald database at ${source}.`);
  let db: Database.Database;
  try {
    // Read-write (no write is made): a read-only connection cannot open a WAL database whose -shm is missing.
    db = new Database(source, { fileMustExist: true });
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CANTOPEN') throw new SqliteBackupError('no-database', `No Herald database at ${source}.`);
    throw err;
  }
  const temp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    db.pragma('busy_timeout = 10000');
    // Created here, empty and 0600 whatever the umask: SQLite keeps an existing file's mode.
    await (await open(temp, 'wx', 0o600)).close();
    await db.backup(temp, { progress: () => ALL_PAGES });
    check(temp);
    if (opts.overwrite) {
      await rename(temp, dest);
    } else {
      await link(temp, dest).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? existsError(dest) : err;
      });
      await unlink(temp);
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  } finally {
    db.close();
  }
  return { file: dest, bytes: (await stat(dest)).size };
}

/** The copy must open and pass SQLite's own check before it takes the name of a backup. */
function check(file: string): void {
  const copy = new Database(file, { fileMustExist: true });
  try {
    const result = copy.pragma('quick_check', { simple: true });
    if (result !== 'ok') throw new Error(`The backup copy failed SQLite's quick_check: ${String(result)}`);
    // The source is in WAL mode, and so is its copy: fold the copy's WAL back so the backup is one file.
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

const exists = (file: string): Promise<boolean> => stat(file).then(
  () => true,
  (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return false;
    throw err;
  },
);

const existsError = (file: string): SqliteBackupError =>
  new SqliteBackupError('exists', `${file} already exists.`);
