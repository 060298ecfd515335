/** The API's path prefixes, in a leaf module so routes need not import the server that registers them. */
export const OCI_PREFIX = '/20181201';
/** OCI Identity's API version. */
export const IDENTITY_PREFIX = '/20160918';
/** Herald's own API, beside the OCI one and signed the same way. */
export const HERALD_PREFIX = '/herald/v1';
