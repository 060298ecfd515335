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

/** Drops a test's own schema and everything in it. */
export async function dropSchema(schema: string, url = PG_URL): Promise<void> {
  await withPg(undefined, (c) => c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`), url);
}
