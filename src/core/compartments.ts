import { InvalidParameterError, NotFoundError } from './errors.js';
import { isOcid } from './ids.js';
import type { Compartment } from './models.js';

/** Every ONS resource lives in an ACTIVE compartment of the caller's own tenancy. */
export async function requireCompartment(
  store: { getCompartment(tenancyId: string, id: string): Promise<Compartment | undefined> },
  tenancyId: string, compartmentId: string): Promise<Compartment> {
  if (!isOcid(compartmentId, 'tenancy') && !isOcid(compartmentId, 'compartment')) {
    throw new InvalidParameterError(`compartmentId ${compartmentId} is not a valid compartment OCID.`);
  }
  const c = await store.getCompartment(tenancyId, compartmentId);
  if (c === undefined || c.lifecycleState !== 'ACTIVE') throw new NotFoundError('Compartment', compartmentId);
  return c;
}
