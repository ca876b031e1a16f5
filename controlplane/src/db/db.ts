import type pg from 'pg';
import { createPool, inTransaction } from '@rudder/common/pg';

/** A query runner: the pool or a transaction's client. Repositories take this, so callers choose the transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** The control plane's database: a pool working in its schema, and transactions. */
export class Db {
  readonly pool: pg.Pool;
  readonly schema: string;

  constructor(options: { url: string; schema: string; poolSize: number }) {
    this.schema = options.schema;
    this.pool = createPool({
      url: options.url,
      schema: options.schema,
      max: options.poolSize,
      applicationName: 'rudder-controlplane',
    });
  }

  /** Runs `fn` in one transaction; every write of one API call and its audit entry go through here. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** True when `err` is Postgres' unique violation (23505), optionally on a named constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** True when `err` is a foreign-key violation (23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23503';
}
