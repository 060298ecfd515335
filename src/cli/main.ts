#!/usr/bin/env node
import { Command } from 'commander';
import { registerDeliveryCommands } from './commands/deliveries.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerKeyCommands } from './commands/key.js';
import { registerServeCommand } from './commands/serve.js';

const program = new Command();
program.name('herald').description('Herald: self-hosted, OCI-compatible Notifications + Functions').version('0.1.0');
registerServeCommand(program);
registerKeyCommands(program);
registerDeliveryCommands(program);
registerFunctionCommands(program);
await program.parseAsync(process.argv);
