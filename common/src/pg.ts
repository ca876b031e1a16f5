import pg from 'pg';

/** Postgres returns bigint (int8) as string by default; job ids stay far below 2^53, so read them as numbers. */
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * A pool whose connections all work in `schema` (search_path), so one database
 * can hold several isolated data planes (tests give each their own schema).
 */
export function createPool(options: {
  url: string;
  schema: string;
  max: number;
  applicationName?: string;
}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    options: `-c search_path=${options.schema}`,
    application_name: options.applicationName ?? 'rudder',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
  pool.on('error', () => {});
  // A checked-out client whose connection drops between two queries emits 'error' on itself; without a
  // listener that would crash the process. The failure still reaches the caller through its next query.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/** Runs `fn` in a transaction on one client; rolls back and rethrows on error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
