import { notFoundError, usageError, type CliError } from '../errors.js';
import { printObject } from '../output.js';
import { enc, withOns, type Ons, type Row } from '../resolve.js';

/** OCI Identity's API version, as `oci iam` calls it. */
export const IAM = '/20160918';

/**
 * The signed calls an `herald iam` command makes. Everything goes through the
 * raw client, which can send `if-match` and read `opc-next-page`; HeraldClient
 * supplies the tenancy and user of the config profile.
 */
export class Iam {
  constructor(private readonly ons: Ons) {}

  get tenancyId(): string {
    return this.ons.client.tenancyId;
  }

  get userId(): string {
    return this.ons.client.userId;
  }

  async call<T = Row>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8');
    const res = await this.ons.raw.callRaw(method, path, payload, { 'content-type': 'application/json', ...headers });
    const parsed: unknown = res.body.length === 0 ? undefined : JSON.parse(res.body.toString('utf8'));
    // Identity sends the etag only as a header; shown in the object, it is there for --if-match.
    const etag = res.headers.etag;
    if (etag !== undefined && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && !('etag' in parsed)) return { ...parsed, etag } as T;
    return parsed as T;
  }

  /**
   * Every item of a list call, following `opc-next-page`. The query is built
   * with encodeURIComponent, not URLSearchParams: Identity routes decode only
   * `%XX` (the SDK sends values raw), so a `+` for a space would stay a `+`.
   */
  async list(path: string, query: Record<string, string>): Promise<Row[]> {
    const q: Record<string, string> = { ...query, limit: '1000' };
    const out: Row[] = [];
    for (;;) {
      const qs = Object.entries(q)
        .map(([k, v]) => `${k}=${enc(v)}`)
        .join('&');
      const res = await this.ons.raw.callRaw('GET', `${path}?${qs}`, Buffer.alloc(0));
      out.push(...(JSON.parse(res.body.toString('utf8')) as Row[]));
      const next = res.headers['opc-next-page'];
      if (next === undefined || next === '') return out;
      q.page = next;
    }
  }
}

/** withClient's connection and error reporting, handing the command an Iam. */
export async function withIam(opts: Row, fn: (iam: Iam, format: string) => Promise<void>): Promise<void> {
  return withOns(opts, async (ons, format) => fn(new Iam(ons), format));
}

/**
 * A mistake in the command line, found before anything is sent. Thrown, not
 * printed here: main.ts's exitWithError reports every error the same way.
 */
export function usage(message: string): never {
  throw usageError(message);
}

/** `if-match` when --if-match was given, for updates and deletes that must not overwrite someone else's change. */
export function ifMatch(opts: Row): Record<string, string> {
  return opts.ifMatch === undefined ? {} : { 'if-match': String(opts.ifMatch) };
}

/** A create's result: the whole object as JSON, or only its OCID for a person (and for `$(...)`). */
export function printCreated(row: Row, format: string): void {
  if (format === 'json') printObject(row);
  else process.stdout.write(`${String(row.id)}\n`);
}

const notFound = (what: string, ref: string, where: string): CliError => notFoundError(`No ${what} named "${ref}" in ${where}.`);

/**
 * A user or group by OCID, or by name (both are unique in the tenancy). Always
 * the full GET: a list item lacks the etag.
 */
async function resolveInTenancy(iam: Iam, what: 'user' | 'group', ref: string): Promise<Row> {
  let id = ref;
  if (!ref.startsWith(`ocid1.${what}.`)) {
    const [found] = await iam.list(`${IAM}/${what}s`, { compartmentId: iam.tenancyId, name: ref });
    if (found === undefined) throw notFound(what, ref, 'the tenancy');
    id = String(found.id);
  }
  return iam.call('GET', `${IAM}/${what}s/${enc(id)}`);
}

export const resolveUser = (iam: Iam, ref: string): Promise<Row> => resolveInTenancy(iam, 'user', ref);
export const resolveGroup = (iam: Iam, ref: string): Promise<Row> => resolveInTenancy(iam, 'group', ref);

/**
 * A compartment's OCID from an OCID (the tenancy's included, as the root) or
 * a name anywhere below the root. Names are unique only among siblings, so a
 * name used in two places must be given as an OCID.
 */
export async function resolveCompartmentId(iam: Iam, ref: string): Promise<string> {
  if (ref.startsWith('ocid1.compartment.') || ref.startsWith('ocid1.tenancy.')) return ref;
  const found = await iam.list(`${IAM}/compartments`, { compartmentId: iam.tenancyId, compartmentIdInSubtree: 'true', name: ref });
  if (found.length === 0) throw notFound('compartment', ref, 'the tenancy');
  if (found.length > 1) usage(`${found.length} compartments are named "${ref}"; give the OCID of the one you mean (herald iam compartment list --subtree).`);
  return String(found[0]!.id);
}

/** A policy by OCID, or by name in its compartment. */
export async function resolvePolicy(iam: Iam, ref: string, compartment: string | undefined): Promise<Row> {
  if (ref.startsWith('ocid1.policy.')) return iam.call('GET', `${IAM}/policies/${enc(ref)}`);
  const compartmentId = compartment === undefined ? iam.tenancyId : await resolveCompartmentId(iam, compartment);
  const [found] = await iam.list(`${IAM}/policies`, { compartmentId, name: ref });
  if (found === undefined) throw notFound('policy', ref, compartment === undefined ? 'the root compartment (use --compartment for others)' : `compartment ${compartment}`);
  return iam.call('GET', `${IAM}/policies/${enc(String(found.id))}`);
}

/** Commander's collector for options given several times. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
