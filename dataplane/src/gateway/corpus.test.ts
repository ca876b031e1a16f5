import { Registry } from 'prom-client';
import { createLogger } from '@rudder/common';
import {
  buildBadInputCorpus,
  CORPUS_DISABLED_WRITE_KEY,
  CORPUS_LIMITS,
  CORPUS_WRITE_KEY,
  validEdgeCases,
} from './corpus.ts';
import { createGatewayServer } from './server.ts';
import { RecordingStore, staticSources } from './testing.ts';

const store = new RecordingStore();
const app = createGatewayServer({
  config: { limits: CORPUS_LIMITS, partitions: 64 },
  store,
  sources: staticSources([
    { id: 'corpus-source', writeKey: CORPUS_WRITE_KEY },
    { id: 'corpus-disabled', writeKey: CORPUS_DISABLED_WRITE_KEY, enabled: false },
  ]),
  logger: createLogger('gateway-corpus-test', { level: 'silent' }),
  metrics: new Registry(),
});

afterAll(async () => {
  await app.close();
});

describe('bad-input corpus', () => {
  it.each(buildBadInputCorpus().map((c) => [c.name, c] as const))(
    'refuses %s with its status and JSON error, storing nothing',
    async (_name, c) => {
      const res = await app.inject({ method: c.method, url: c.path, headers: c.headers, payload: c.body });
      expect(res.statusCode).toBe(c.expectStatus);
      const body = res.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe(c.expectCode);
      expect(typeof body.error.message).toBe('string');
      expect(body.error.message.length).toBeLessThan(300);
      expect(store.writes).toHaveLength(0);
    },
  );
});

describe('valid edge cases', () => {
  it.each(validEdgeCases().map((c) => [c.name, c] as const))('stores %s', async (_name, c) => {
    const before = store.events.length;
    const res = await app.inject({ method: c.method, url: c.path, headers: c.headers, payload: c.body });
    expect(res.statusCode).toBe(c.expectStatus);
    expect(store.events.length - before).toBe(c.expectEvents);
  });
});
