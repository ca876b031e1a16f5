import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestSchema, startSink, type Sink } from '@rudder/devkit';
import { createLogger } from '@rudder/common';
import { startDataPlane, type DataPlane } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

export const WRITE_KEY = 'test-write-key-0001';

/** A data plane in this process on its own schema, with a webhook to a fresh sink. */
export interface TestPlane {
  plane: DataPlane;
  sink: Sink;
  /** The Postgres schema holding this data plane's tables. */
  schema: string;
  configFile: string;
  writeConfig(config: unknown): void;
  basicAuth: string;
  close(): Promise<void>;
}

export function demoConfig(sinkUrl: string, extra: Record<string, unknown> = {}): unknown {
  return {
    workspaces: [
      {
        id: 'ws',
        sources: [{ id: 'src', writeKey: WRITE_KEY }],
        destinations: [{ id: 'hook', type: 'webhook', config: { url: `${sinkUrl}/hook` } }],
        connections: [{ sourceId: 'src', destinationId: 'hook' }],
        ...extra,
      },
    ],
  };
}

export async function startTestPlane(
  options: { env?: Record<string, string>; config?: (sinkUrl: string) => unknown } = {},
): Promise<TestPlane> {
  const schema = await createTestSchema('dp');
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), 'rudder-test-'));
  const configFile = join(dir, 'config.json');
  const writeConfig = (config: unknown): void => writeFileSync(configFile, JSON.stringify(config));
  writeConfig((options.config ?? demoConfig)(sink.url));
  const plane = await startDataPlane(
    loadConfig({
      DATABASE_URL: schema.url,
      DATABASE_SCHEMA: schema.schema,
      CONFIG_FILE: configFile,
      PORT: '0',
      ADMIN_PORT: '0',
      PARTITIONS: '16',
      ROUTER_BACKOFF_BASE_MS: '20',
      ROUTER_BACKOFF_MAX_MS: '200',
      JOBSDB_MAINTENANCE_INTERVAL_MS: '200',
      ...options.env,
    }),
    { logger: createLogger('test', { level: 'silent' }) },
  );
  return {
    plane,
    sink,
    schema: schema.schema,
    configFile,
    writeConfig,
    basicAuth: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    close: async () => {
      await plane.stop();
      await sink.close();
      await schema.drop();
    },
  };
}
