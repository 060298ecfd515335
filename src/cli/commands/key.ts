import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { withClient } from '../run.js';

export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('API signing keys');
  addClientOptions(
    key
      .command('add')
      .description('Register another RSA public key (PEM) for a user')
      .option('--user <ocid>', 'user OCID (default: the user of the config profile)')
      .requiredOption('--public-key <file>', 'PEM file with the RSA public key'),
  ).action(async (opts: Record<string, string>) =>
    withClient(opts, async (client, format) => {
      const pem = await readFile(opts.publicKey!, 'utf8');
      const user = opts.user ?? client.userId;
      const res = await client.call<{ keyId: string; fingerprint: string }>('POST', `/herald/v1/users/${encodeURIComponent(user)}/apiKeys`, { key: pem });
      if (format === 'json') process.stdout.write(JSON.stringify(res, null, 2) + '\n');
      else process.stdout.write(`fingerprint: ${res.fingerprint}\nkeyId:       ${res.keyId}\n`);
    }),
  );
}
