import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres, startSink, freePort, waitFor } from '@rudder/devkit';
import { createLogger } from '@rudder/common';
import { startDataPlane } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { demoConfig, WRITE_KEY } from './support/in-process.ts';

const root = join(import.meta.dirname, '..', '..');

it('answers 503 with Retry-After while Postgres is down, never 200, and accepts again once it is back', async () => {
  const dir = mkdtempSync(join(root, '.data', 'test', 'outage-'));
  chmodSync(dir, 0o755); // Postgres runs as the postgres user and must reach its data folder
  const port = await freePort();
  let postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, unsafeFast: true });
  const sink = await startSink();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(demoConfig(sink.url)));
  const plane = await startDataPlane(
    loadConfig({
      DATABASE_URL: postgres.url,
      CONFIG_FILE: join(dir, 'config.json'),
      PORT: '0',
      ADMIN_PORT: '0',
    }),
    { logger: createLogger('test', { level: 'silent' }) },
  );
  const track = (n: number): Promise<Response> =>
    fetch(`${plane.gatewayUrl}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u', event: 'E', messageId: `m-${n}` }),
    });
  try {
    expect((await track(1)).status).toBe(200);
    await postgres.stop();
    const down = await track(2);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    await waitFor(
      '/ready to report the outage',
      async () => (await fetch(`${plane.gatewayUrl}/ready`)).status === 503,
    );

    postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, unsafeFast: true });
    await waitFor('ingestion to recover', async () => (await track(3)).status === 200, { timeoutMs: 30_000 });
    await sink.waitForEvents(2, 20_000);
    const ids = (sink.events() as { messageId: string }[]).map((e) => e.messageId);
    expect(ids).toContain('m-1');
    expect(ids).toContain('m-3');
    expect(ids).not.toContain('m-2');
  } finally {
    await plane.stop();
    await sink.close();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
