import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../postgres.ts';

declare global {
  var __rudderPostgres: RunningPostgres | undefined;
}

/**
 * Starts one real Postgres for the whole test run (test workers inherit its URL
 * and each test takes its own schema). RUDDER_TEST_DATABASE_URL points the
 * suite at an existing server instead.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['RUDDER_TEST_DATABASE_URL']) return;
  const root = join(import.meta.dirname, '..', '..', '..');
  const started = Date.now();
  const server = await startEmbeddedPostgres({ dataDir: join(root, '.data', 'test', 'pg'), unsafeFast: true });
  globalThis.__rudderPostgres = server;
  process.env['RUDDER_TEST_DATABASE_URL'] = server.url;
  process.stderr.write(`\n[test] Postgres 18 ready at ${server.url.replace(/:[^:@]*@/, ':***@')} in ${Date.now() - started} ms\n`);
}
