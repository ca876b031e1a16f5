import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../postgres.ts';

declare global {
  var __rudderPostgres: { server: RunningPostgres; scratchDir: string | undefined } | undefined;
}

/**
 * Starts one real Postgres for the whole test run (test workers inherit its URL
 * and each test takes its own schema). RUDDER_TEST_DATABASE_URL points the
 * suite at an existing server instead. When another test run holds the shared
 * cluster, this run gets a scratch cluster of its own, removed at teardown.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['RUDDER_TEST_DATABASE_URL']) return;
  const root = join(import.meta.dirname, '..', '..', '..');
  const started = Date.now();
  let scratchDir: string | undefined;
  let server: RunningPostgres;
  try {
    server = await startEmbeddedPostgres({ dataDir: join(root, '.data', 'test', 'pg'), unsafeFast: true });
  } catch (err) {
    if (!String(err).includes('already running')) throw err;
    scratchDir = join(root, '.data', 'test', `pg-${process.pid}`);
    server = await startEmbeddedPostgres({ dataDir: scratchDir, unsafeFast: true });
  }
  globalThis.__rudderPostgres = { server, scratchDir };
  process.env['RUDDER_TEST_DATABASE_URL'] = server.url;
  process.stderr.write(
    `\n[test] Postgres 18 ready at ${server.url.replace(/:[^:@]*@/, ':***@')} in ${Date.now() - started} ms\n`,
  );
}

export async function stopTestPostgres(): Promise<void> {
  const running = globalThis.__rudderPostgres;
  if (!running) return;
  await running.server.stop();
  if (running.scratchDir) rmSync(running.scratchDir, { recursive: true, force: true });
}
