import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../context.js';
import { registerIdentityCompartmentRoutes } from './compartments.js';
import { registerGroupRoutes } from './groups.js';
import { registerPolicyRoutes } from './policies.js';
import { registerUserRoutes } from './users.js';

/** The OCI Identity API subset under /20160918 (oci-identity.md §2). */
export function registerIdentityRoutes(app: FastifyInstance, deps: ApiDeps): void {
  registerIdentityCompartmentRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerGroupRoutes(app, deps);
  registerPolicyRoutes(app, deps);
}
