import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { notFoundError } from '../errors.js';
import { addStoreOptions, storeLocation } from '../store-location.js';

/**
 * Loaded by the action only: opening the store brings both database drivers, and the console's hashing with
 * them; neither belongs in every command's start-up.
 */
const loadStore = () => import('../../store/open-store.js');
const loadConsoleAuth = () => import('../../console/auth.js');

export function registerConsoleCommands(program: Command): void {
  const consoleCmd = program.command('console').description('The web console');
  addStoreOptions(
    consoleCmd
      .command('reset-password')
      .description('Set a new random password for a console login and end its sessions (run where the store is, like serve)')
      .option('--user <name>', 'the console login', 'admin'),
  ).action(async (opts: { user: string; dataDir?: string; store?: string; config?: string }) => {
    const location = storeLocation(opts);
    // A mistyped --data-dir must not leave a new, empty database behind.
    const file = join(location.dataDir, 'herald.db');
    if (location.store === 'sqlite' && !existsSync(file)) throw notFoundError(`No Herald database at ${file}.`);
    const [{ openStore }, { hashPassword }] = await Promise.all([loadStore(), loadConsoleAuth()]);
    // Holding the database is the authority here, as it is for `serve`: no signed request, no old password.
    const store = await openStore(location.store, location.dataDir);
    try {
      if ((await store.console.getConsoleUser(opts.user)) === undefined) {
        throw notFoundError(`No console login "${opts.user}" in this store.`);
      }
      // As long as the generated admin password (src/console/auth.ts): 144 random bits.
      const password = randomBytes(18).toString('base64url');
      await store.console.setConsolePassword(opts.user, await hashPassword(password));
      // After the new hash is in: a reset after a suspected leak must lock out whoever signed in with the old one.
      const ended = await store.console.deleteConsoleSessionsOf(opts.user);
      process.stderr.write(`herald: new password for console login "${opts.user}" (shown only once); ${ended} open session(s) ended\n`);
      process.stdout.write(`${password}\n`);
    } finally {
      await store.close();
    }
  });
}
