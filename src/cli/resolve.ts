import { readFile } from 'node:fs/promises';
import type { HeraldClient } from './client.js';
import { notFoundError, usageError } from './errors.js';
import { clientOptions } from './options.js';
import { RawHeraldClient } from './raw-client.js';
import { withClient } from './run.js';

export type Row = Record<string, unknown>;
export const ONS = '/20181201';
export const enc = encodeURIComponent;

/**
 * The two signed clients an ONS command needs: HeraldClient for JSON calls,
 * and RawHeraldClient for list calls, because paging needs the
 * `opc-next-page` response header that HeraldClient does not expose. Both
 * sign through the same `signRequest`.
 */
export interface Ons {
  client: HeraldClient;
  raw: RawHeraldClient;
}

/** withClient (same error reporting), plus the raw client for paged lists. */
export async function withOns(opts: Row, fn: (ons: Ons, format: string) => Promise<void>): Promise<void> {
  return withClient(opts, async (client, format) => fn({ client, raw: await RawHeraldClient.fromConfig(clientOptions(opts)) }, format));
}

/** Every item of a list call: follows `opc-next-page` until the server stops sending one. */
export async function listAll(ons: Ons, path: string, query: Record<string, string>, pageSize = 1000): Promise<Row[]> {
  const q = new URLSearchParams({ ...query, limit: String(pageSize) });
  const out: Row[] = [];
  for (;;) {
    const res = await ons.raw.callRaw('GET', `${path}?${q.toString()}`, Buffer.alloc(0));
    out.push(...(JSON.parse(res.body.toString('utf8')) as Row[]));
    const next = res.headers['opc-next-page'];
    if (next === undefined || next === '') return out;
    q.set('page', next);
  }
}

/**
 * The compartments to search for a name, root first, then breadth-first
 * through child compartments. Lazy, so a name found in the root costs one
 * list call and no compartment walk.
 */
async function* compartments(client: HeraldClient): AsyncGenerator<string> {
  const queue = [client.tenancyId];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    yield id;
    const children = await client.call<Row[]>('GET', `/herald/v1/compartments?compartmentId=${enc(id)}`);
    for (const c of children) if (c.lifecycleState === undefined || c.lifecycleState === 'ACTIVE') queue.push(String(c.id));
  }
}

/**
 * A topic by OCID, or by name: in --compartment when given, else in the
 * tenancy's root compartment and then its child compartments (topic names
 * are unique in a tenancy, so the first match is the one).
 */
export async function resolveTopic(ons: Ons, ref: string, compartment?: string): Promise<Row> {
  if (ref.startsWith('ocid1.onstopic.')) return ons.client.call<Row>('GET', `${ONS}/topics/${enc(ref)}`);
  const search = compartment !== undefined ? [compartment] : compartments(ons.client);
  for await (const c of search) {
    const [found] = await listAll(ons, `${ONS}/topics`, { compartmentId: c, name: ref });
    if (found !== undefined) return found;
  }
  const where = compartment !== undefined ? `compartment ${compartment}` : 'the tenancy or its compartments';
  throw notFoundError(`No topic named "${ref}" in ${where}.`);
}

/** Subscriptions have no names; an early, clear error beats the server's 400 for a mistyped argument. */
export function checkSubscriptionRef(ref: string): string {
  if (!ref.startsWith('ocid1.onssubscription.')) {
    throw usageError(`"${ref}" is not a subscription OCID (ocid1.onssubscription...); see herald subscription list.`);
  }
  return ref;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A message body from --body, --body-file or (when piped) stdin, exactly one of them. */
export async function readMessageBody(opts: Row): Promise<string> {
  if (opts.body !== undefined && opts.bodyFile !== undefined) throw usageError('Give --body or --body-file, not both.');
  if (opts.body !== undefined) return String(opts.body);
  if (opts.bodyFile !== undefined) {
    // Reported here, since withClient would take a bare ENOENT for a missing config file.
    return readFile(String(opts.bodyFile), 'utf8').catch((err: Error) => {
      throw usageError(`--body-file cannot be read: ${err.message}`);
    });
  }
  if (process.stdin.isTTY) throw usageError('No message body: give --body, --body-file, or pipe it on stdin.');
  return readStdin();
}
