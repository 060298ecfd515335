import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, usageError } from '../errors.js';
import { addStoreOptions, storeLocation } from '../store-location.js';

/** Loaded by the action only: the SQLite driver has no business in every command's start-up. */
const loadBackup = () => import('../../store/sqlite/backup.js');

export function registerBackupCommand(program: Command): void {
  addStoreOptions(
    program
      .command('backup')
      .description("Copy the SQLite store to a file, consistently, while Herald runs (PostgreSQL: use pg_dump)")
      .requiredOption('--out <file>', 'the backup file to write (mode 0600)')
      .option('--force', 'overwrite --out if it exists'),
  ).action(async (opts: { out: string; force?: boolean; dataDir?: string; store?: string; config?: string }) => {
    const location = storeLocation(opts);
    if (location.store !== 'sqlite') {
      throw usageError(
        'herald backup copies the SQLite store; this installation uses PostgreSQL: back it up with pg_dump ' +
          '(e.g. pg_dump --format=custom --file=herald.dump "$HERALD_STORE"), and restore with pg_restore.',
      );
    }
    const { backupSqlite, SqliteBackupError } = await loadBackup();
    const source = resolve(location.dataDir, 'herald.db');
    try {
      const result = await backupSqlite(source, resolve(opts.out), { overwrite: opts.force === true });
      process.stdout.write(`Wrote ${result.file} (${result.bytes} bytes)\n`);
    } catch (err) {
      if (err instanceof SqliteBackupError) {
        throw err.kind === 'exists' ? usageError(`${err.message} Pass --force to overwrite it.`) : new CliError('not-found', err.message);
      }
      throw err;
    }
  });
}
