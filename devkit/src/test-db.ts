import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** URL of the test Postgres that Jest's global setup started (or the one the user pointed at). */
export function testDatabaseUrl(): string {
  const url = process.env['RUDDER_TEST_DATABASE_URL'];
  if (!url)
    throw new Error(
      'RUDDER_TEST_DATABASE_URL is not set: run tests through `make test` (Jest global setup starts Postgres)',
    );
  return url;
}

/** A fresh schema for one test, so tests run in parallel without seeing each other; `drop` removes it. */
export async function createTestSchema(
  prefix = 't',
): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = testDatabaseUrl();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  } finally {
    await client.end();
  }
  return {
    url,
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
