import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../postgres.ts';
import { startRedis, type RunningRedis } from '../redis.ts';

declare global {
  var __rudderPostgres: { server: RunningPostgres; scratchDir: string | undefined } | undefined;
  var __rudderRedis: { server: RunningRedis; dataDir: string } | undefined;
}

/**
 * Starts one real Postgres and one real Redis for the whole test run (tests
 * take their own schema, and their own key prefix in Redis).
 * RUDDER_TEST_REDIS_URL points the suite at an existing Redis instead.
 *
 * Postgres: one server (test workers inherit its URL
 * and each test takes its own schema). RUDDER_TEST_DATABASE_URL points the
 * suite at an existing server instead. When another test run holds the shared
 * cluster, this run gets a scratch cluster of its own, removed at teardown.
 */
export default async function globalSetup(): Promise<void> {
  const root = join(import.meta.dirname, '..', '..', '..');
  await startTestRedis(root);
  if (process.env['RUDDER_TEST_DATABASE_URL']) return;
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

async function startTestRedis(root: string): Promise<void> {
  if (process.env['RUDDER_TEST_REDIS_URL']) return;
  const dataDir = join(root, '.data', 'test', `redis-${process.pid}`);
  const server = await startRedis({ dataDir, ephemeral: true });
  globalThis.__rudderRedis = { server, dataDir };
  process.env['RUDDER_TEST_REDIS_URL'] = server.url;
  process.stderr.write(`[test] Redis ready at ${server.url}\n`);
}

export async function stopTestRedis(): Promise<void> {
  const running = globalThis.__rudderRedis;
  if (!running) return;
  await running.server.stop();
  rmSync(running.dataDir, { recursive: true, force: true });
}
