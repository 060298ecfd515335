import pg from 'pg';

/** The PostgreSQL server every suite uses (HERALD_TEST_PG overrides it). */
export const PG_URL = process.env.HERALD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Runs fn on a connection of its own (with search_path set to `schema` when given) to `url` (the shared test
 * database unless given), closing it afterwards.
 */
export async function withPg<T>(schema: string | undefined, fn: (c: pg.Client) => Promise<T>, url = PG_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops made by this process, one after another (see dropSchema). */
let drops: Promise<unknown> = Promise.resolve();

/**
 * Drops a test's own schema and everything in it. One drop at a time per test process: DROP SCHEMA ... CASCADE holds a
 * lock on every table, index and sequence of the schema until it commits, and a suite that cleaned up some thirty
 * stores at once (Promise.all) filled the server's shared lock table beside the other test files ("out of shared
 * memory", SQLSTATE 53200; seen in a CI run).
 */
export function dropSchema(schema: string, url = PG_URL): Promise<void> {
  const drop = drops.then(() => withPg(undefined, (c) => c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`), url));
  drops = drop.catch(() => undefined);
  return drop.then(() => undefined);
}
