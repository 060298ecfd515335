import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject } from '../output.js';
import { enc, type Row } from '../resolve.js';
import { IAM, withIam } from './iam-common.js';
import { registerCompartmentCommands } from './iam-compartments.js';
import { registerGroupCommands } from './iam-groups.js';
import { registerPolicyCommands } from './iam-policies.js';
import { registerApiKeyCommands, registerUserCommands } from './iam-users.js';

/** `herald iam <resource> <verb>`, shaped like `oci iam ...`, over Herald's OCI Identity API (/20160918). */
export function registerIamCommands(program: Command): void {
  const iam = program.command('iam').description('Identity: compartments, users, groups, policies and API keys (OCI Identity API)');
  registerCompartmentCommands(iam);
  registerUserCommands(iam);
  registerGroupCommands(iam);
  registerPolicyCommands(iam);
  registerApiKeyCommands(iam);

  const tenancy = iam.command('tenancy').description('The tenancy (its OCID is also the root compartment)');
  addClientOptions(tenancy.command('get').description('Show the tenancy of the config profile')).action(async (opts: Row) =>
    withIam(opts, async (client) => {
      printObject(await client.call('GET', `${IAM}/tenancies/${enc(client.tenancyId)}`));
    }),
  );
}
