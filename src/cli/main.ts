#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576 node --max-old-space-size=256 --max-semi-space-size=8
import { Command } from 'commander';
import { registerBackupCommand } from './commands/backup.js';
import { registerConsoleCommands } from './commands/console.js';
import { registerDeliveryCommands } from './commands/deliveries.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerIamCommands } from './commands/iam.js';
import { registerKeyCommands } from './commands/key.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSubscriptionCommands } from './commands/subscriptions.js';
import { registerTopicCommands } from './commands/topics.js';
import { exitWithError } from './errors.js';

const program = new Command();
program.name('herald').description('Herald: self-hosted, OCI-compatible Notifications + Functions').version('0.1.0');
registerServeCommand(program);
registerKeyCommands(program);
registerDeliveryCommands(program);
registerFunctionCommands(program);
registerTopicCommands(program);
registerSubscriptionCommands(program);
registerPublishCommand(program);
registerIamCommands(program);
registerBackupCommand(program);
registerConsoleCommands(program);
// Every error a command throws ends here, to be printed once, the same way, with its exit code.
await program.parseAsync(process.argv).catch(exitWithError);
