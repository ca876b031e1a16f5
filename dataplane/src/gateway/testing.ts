import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger, sourceSchema, type RudderEvent } from '@rudder/common';
import type { GatewayWrite } from '../jobsdb/types.ts';
import { basicAuth, CORPUS_LIMITS } from './corpus.ts';
import { createGatewayServer } from './server.ts';
import type { GatewayStore, ResolvedSource, SourceDirectory } from './types.ts';

/**
 * An in-memory GatewayStore for gateway tests: it records committed writes and
 * can be made to fail, stay unhealthy, or hold commits until released. It is an
 * internal collaborator standing in for the jobs database, not a mock of it:
 * tests assert on what it holds, not on how it was called.
 */
export class RecordingStore implements GatewayStore {
  readonly writes: GatewayWrite[] = [];
  healthy = true;
  /** Writes currently held by {@link hold}. */
  waiting = 0;
  /** Thrown by the next writes while set. */
  failure: Error | undefined = undefined;
  private held: { release: () => void; promise: Promise<void> } | undefined;

  async writeGateway(write: GatewayWrite): Promise<{ stored: number; duplicates: number }> {
    if (this.held !== undefined) {
      this.waiting++;
      await this.held.promise;
      this.waiting--;
    }
    if (this.failure !== undefined) throw this.failure;
    this.writes.push(write);
    return { stored: write.jobs.length, duplicates: 0 };
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** Holds every commit until the returned function is called. */
  hold(): () => void {
    let release = (): void => {};
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held = { release, promise };
    return () => {
      this.held = undefined;
      release();
    };
  }

  /** Every committed event, in commit order. */
  get events(): RudderEvent[] {
    return this.writes.flatMap((w) => w.jobs.map((j) => j.event));
  }
}

/** A fixed SourceDirectory: `sources` maps write keys to sources of workspace `ws-1`. */
export function staticSources(
  sources: { id: string; writeKey: string; enabled?: boolean; dedupWindowSeconds?: number }[],
  ready = true,
): SourceDirectory & { ready: boolean } {
  const byKey = new Map<string, ResolvedSource>(
    sources.map((s) => [s.writeKey, { workspaceId: 'ws-1', source: sourceSchema.parse(s) }]),
  );
  return {
    ready,
    byWriteKey: (writeKey) => byKey.get(writeKey),
    isReady() {
      return this.ready;
    },
  };
}

/** The write key of the enabled source `src-1` (dedup window 600 s) that {@link testGateway} serves. */
export const TEST_WRITE_KEY = 'write-key-source-1';
/** The clock {@link testGateway} runs on. */
export const TEST_NOW = new Date('2024-05-01T12:00:10.000Z');
/** Headers of a JSON request authenticated with {@link TEST_WRITE_KEY}. */
export const JSON_HEADERS = { authorization: basicAuth(TEST_WRITE_KEY), 'content-type': 'application/json' };

/**
 * A gateway server over a RecordingStore, with an enabled source
 * ({@link TEST_WRITE_KEY}) and a disabled one (`write-key-disabled`), the
 * default limits, 64 partitions, a silent logger and its own registry.
 */
export function testGateway(options: { trustForwardedFor?: boolean } = {}): {
  app: FastifyInstance;
  store: RecordingStore;
  sources: SourceDirectory & { ready: boolean };
  registry: Registry;
} {
  const store = new RecordingStore();
  const sources = staticSources([
    { id: 'src-1', writeKey: TEST_WRITE_KEY, dedupWindowSeconds: 600 },
    { id: 'src-off', writeKey: 'write-key-disabled', enabled: false },
  ]);
  const registry = new Registry();
  const app = createGatewayServer({
    config: { limits: CORPUS_LIMITS, partitions: 64 },
    store,
    sources,
    logger: createLogger('gateway-test', { level: 'silent' }),
    metrics: registry,
    now: () => TEST_NOW,
    ...options,
  });
  return { app, store, sources, registry };
}
