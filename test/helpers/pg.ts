import pg from 'pg';

/** The PostgreSQL server every suite uses (HERALD_TEST_PG overrides it). */
export const PG_URL = process.env.HERALD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs fn on a connection of its own (with search_path set to `schema` when given), closing it afterwards. */
export async function withPg<T>(schema: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops a test's own schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withPg(undefined, (c) => c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`));
}
