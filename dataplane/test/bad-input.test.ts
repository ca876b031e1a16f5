import pg from 'pg';
import {
  buildBadInputCorpus,
  validEdgeCases,
  CORPUS_WRITE_KEY,
  CORPUS_DISABLED_WRITE_KEY,
} from '../src/gateway/corpus.ts';
import { startTestPlane, type TestPlane } from './support/in-process.ts';

let t: TestPlane;
let db: pg.Client;

beforeAll(async () => {
  t = await startTestPlane({
    config: (url) => ({
      workspaces: [
        {
          id: 'ws',
          sources: [
            { id: 'src', writeKey: CORPUS_WRITE_KEY },
            { id: 'off', writeKey: CORPUS_DISABLED_WRITE_KEY, enabled: false },
          ],
          destinations: [{ id: 'hook', type: 'webhook', config: { url: `${url}/hook` } }],
          connections: [{ sourceId: 'src', destinationId: 'hook' }],
        },
      ],
    }),
  });
  db = new pg.Client({ connectionString: process.env['RUDDER_TEST_DATABASE_URL'] });
  await db.connect();
});

afterAll(async () => {
  await db.end();
  await t.close();
});

async function storedRows(): Promise<number> {
  const schema = t.schema;
  const tables = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'gw_jobs_%'`,
    [schema],
  );
  let n = 0;
  for (const { t: table } of tables.rows) {
    n += (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0]!.n;
  }
  return n;
}

async function send(c: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}): Promise<Response> {
  return fetch(`${t.plane.gatewayUrl}${c.path}`, {
    method: c.method,
    headers: c.headers,
    ...(c.method === 'GET' ? {} : { body: c.body }),
  });
}

it('answers every bad input of the corpus with its status and JSON error, stores nothing, and stays up', async () => {
  const corpus = buildBadInputCorpus();
  expect(corpus.length).toBeGreaterThan(30);
  for (const c of corpus) {
    const res = await send(c);
    const text = await res.text();
    expect({ name: c.name, status: res.status }).toEqual({ name: c.name, status: c.expectStatus });
    if (!c.path.startsWith('/pixel')) {
      expect({ name: c.name, code: (JSON.parse(text) as { error: { code: string } }).error.code }).toEqual({
        name: c.name,
        code: c.expectCode,
      });
    }
  }
  expect(await storedRows()).toBe(0);
  expect((await fetch(`${t.plane.gatewayUrl}/health`)).status).toBe(200);

  // Odd but valid input is stored and delivered, with the server still healthy after the corpus.
  let expected = 0;
  for (const c of validEdgeCases()) {
    const res = await send(c);
    expect({ name: c.name, status: res.status }).toEqual({ name: c.name, status: c.expectStatus });
    expected += c.expectEvents;
  }
  expect(await storedRows()).toBe(expected);
  await t.sink.waitForEvents(expected, 15_000);
});
