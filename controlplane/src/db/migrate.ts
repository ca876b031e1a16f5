import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from '@rudder/common';

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');
/** Serializes migrations across control-plane replicas starting at once. */
const MIGRATION_LOCK = 0x6d696772; // "migr"

/**
 * Applies every `migrations/NNNN_name.sql` not yet recorded in
 * `schema_migrations`, in order, each in its own transaction. Safe to run from
 * several replicas at once: an advisory lock lets one apply at a time.
 */
export async function migrate(
  options: { url: string; schema: string },
  logger?: Logger,
): Promise<{ applied: string[] }> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  const schema = pg.escapeIdentifier(options.schema);
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET search_path = ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
    for (const file of files) {
      const version = file.slice(0, -'.sql'.length);
      if (done.has(version)) continue;
      const sql = await readFile(join(MIGRATIONS_DIR, file), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${file} failed: ${String(err)}`, { cause: err });
      }
      applied.push(version);
      logger?.info({ version }, 'migration applied');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
  return { applied };
}
