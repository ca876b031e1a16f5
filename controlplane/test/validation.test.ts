import { newId } from '../src/ids.ts';
import { allRoutes } from '../src/http/routes.ts';
import { WORKSPACE_PATH } from '../src/workspaces/workspace-scope.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';
import { snapshotTenant } from './support/tenant-fixtures.ts';

/**
 * Every create and update route of the workspace objects, fed bodies it must
 * refuse: each answer is a 400 whose `details.field` names the offending
 * field, and the tenant's rows (config version and audit log included) are
 * exactly as before the call.
 */

const MAX_CODE_BYTES = 1024;
const CODE = 'function transformEvent(event) { return event; }';
/** Under the limit in characters, over it in UTF-8 bytes: the limit counts bytes. */
const OVERSIZED_CODE = `// ${'é'.repeat(600)}\n${CODE}`;

/** Ids of the objects the cases refer to: `w1` is the workspace called, `w2` another of the same tenant. */
interface Fixture {
  base: string;
  source: string;
  destination: string;
  connection: string;
  transformation: string;
  /** A destination of `w1` no connection points at yet. */
  spareDestination: string;
  w2: { source: string; destination: string; transformation: string };
}

interface Case {
  method: 'post' | 'patch';
  /** Under the workspace path, as the route table writes it. */
  route: string;
  what: string;
  /** The body, or a function of the fixture for bodies naming its objects. */
  body: unknown;
  field: string;
  /** More the answer must carry: a message pattern, details. */
  also?: { message?: RegExp; details?: Record<string, unknown> };
}

type Row = [what: string, body: unknown, field: string, also?: Case['also']];

/** The cases of one route, one row each. */
function refuses(method: Case['method'], route: string, rows: Row[]): Case[] {
  return rows.map(([what, body, field, also]) => ({
    method,
    route,
    what,
    body,
    field,
    ...(also && { also }),
  }));
}

function pathOf(route: string, f: Fixture): string {
  const ids: Record<string, string> = {
    sourceId: f.source,
    destinationId: f.destination,
    connectionId: f.connection,
    transformationId: f.transformation,
  };
  return f.base + route.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? name);
}

const hook = (config: Record<string, unknown> = { url: 'https://example.test/hook' }) => ({
  name: 'Hook',
  type: 'webhook',
  config,
});
const amplitude = (config: Record<string, unknown>) => ({ name: 'A', type: 'amplitude', config });
const missing = 'trf_doesnotexist0000000';
const unknownField = { message: /unknown field/ };

const CASES: Case[] = [
  ...refuses('post', '/sources', [
    ['no name', {}, 'body.name'],
    ['a numeric name', { name: 42 }, 'body.name'],
    ['a blank name', { name: '  ' }, 'body.name'],
    ['enabled as a string', { name: 'S', enabled: 'yes' }, 'body.enabled'],
    ['a negative dedup window', { name: 'S', dedupWindowSeconds: -1 }, 'body.dedupWindowSeconds'],
    ['a fractional dedup window', { name: 'S', dedupWindowSeconds: 1.5 }, 'body.dedupWindowSeconds'],
    ['a dedup window over a week', { name: 'S', dedupWindowSeconds: 8 * 86400 }, 'body.dedupWindowSeconds'],
    [
      'a write key of its own',
      { name: 'S', writeKey: 'chosen-by-the-caller' },
      'body.writeKey',
      unknownField,
    ],
    ['an array body', [{ name: 'S' }], 'body'],
  ]),
  ...refuses('patch', '/sources/{sourceId}', [
    ['a blank name', { name: '' }, 'body.name'],
    ['enabled as a number', { enabled: 1 }, 'body.enabled'],
    ['a write key', { writeKey: 'x'.repeat(32) }, 'body.writeKey', unknownField],
    ['an id', { id: 'src_other' }, 'body.id'],
  ]),
  ...refuses('post', '/destinations', [
    ['no type', { name: 'D', config: {} }, 'body.type'],
    [
      'a type not in the catalog',
      { ...hook(), type: 'segment-warehouse' },
      'body.type',
      {
        message: /unknown destination type "segment-warehouse"/,
        details: { known: expect.arrayContaining(['webhook', 'amplitude']) },
      },
    ],
    ['no config', { name: 'D', type: 'webhook' }, 'body.config'],
    ['a config that is an array', { ...hook(), config: ['https://example.test'] }, 'body.config'],
    [
      "a webhook url 'not a url'",
      hook({ url: 'not a url' }),
      'body.config.url',
      { message: /http\(s\) URL/ },
    ],
    ['a webhook without url', hook({ method: 'PUT' }), 'body.config.url'],
    [
      'a webhook batching GET requests',
      hook({ url: 'https://example.test', method: 'GET', batching: true }),
      'body.config.batching',
    ],
    [
      'a misspelt webhook setting',
      hook({ url: 'https://example.test', batchng: true }),
      'body.config.batchng',
      { message: /unknown field for webhook destinations/ },
    ],
    ['amplitude without apiKey', amplitude({ dataResidency: 'eu' }), 'body.config.apiKey'],
    [
      'amplitude in an unknown region',
      amplitude({ apiKey: 'k', dataResidency: 'mars' }),
      'body.config.dataResidency',
    ],
    [
      'an unknown message type in the event filter',
      { ...hook(), eventFilter: { messageTypes: ['track', 'click'] } },
      'body.eventFilter.messageTypes.1',
    ],
    ['an unknown event filter field', { ...hook(), eventFilter: { allow: ['x'] } }, 'body.eventFilter.allow'],
    ['a delivery concurrency of 0', { ...hook(), delivery: { concurrency: 0 } }, 'body.delivery.concurrency'],
    ['an unknown delivery field', { ...hook(), delivery: { retries: 3 } }, 'body.delivery.retries'],
    ['an unknown transformation', { ...hook(), transformationId: missing }, 'body.transformationId'],
    [
      "another workspace's transformation",
      (f: Fixture) => ({ ...hook(), transformationId: f.w2.transformation }),
      'body.transformationId',
    ],
    ['enabled as a string', { ...hook(), enabled: 'true' }, 'body.enabled'],
    ['a workspace id', { ...hook(), workspaceId: 'ws_other' }, 'body.workspaceId', unknownField],
  ]),
  ...refuses('patch', '/destinations/{destinationId}', [
    ['a type not in the catalog', { type: 'nope' }, 'body.type'],
    ['a new type the stored config does not fit', { type: 'amplitude' }, 'body.config.apiKey'],
    ['an ftp url', { config: { url: 'ftp://example.test/x' } }, 'body.config.url'],
    [
      'an unknown config field',
      { config: { url: 'https://example.test', header: {} } },
      'body.config.header',
    ],
    [
      "another workspace's transformation",
      (f: Fixture) => ({ transformationId: f.w2.transformation }),
      'body.transformationId',
    ],
    ['a numeric name', { name: 7 }, 'body.name'],
    ['a creation time', { createdAt: '2020-01-01T00:00:00Z' }, 'body.createdAt'],
  ]),
  ...refuses('post', '/connections', [
    ['no source', (f: Fixture) => ({ destinationId: f.destination }), 'body.sourceId'],
    ['no destination', (f: Fixture) => ({ sourceId: f.source }), 'body.destinationId'],
    [
      'an unknown source',
      (f: Fixture) => ({ sourceId: 'src_doesnotexist', destinationId: f.destination }),
      'body.sourceId',
    ],
    [
      'an unknown destination',
      (f: Fixture) => ({ sourceId: f.source, destinationId: 'dst_doesnotexist' }),
      'body.destinationId',
    ],
    [
      "another workspace's source",
      (f: Fixture) => ({ sourceId: f.w2.source, destinationId: f.destination }),
      'body.sourceId',
    ],
    [
      "another workspace's destination",
      (f: Fixture) => ({ sourceId: f.source, destinationId: f.w2.destination }),
      'body.destinationId',
    ],
    [
      'an unknown transformation',
      (f: Fixture) => ({ sourceId: f.source, destinationId: f.spareDestination, transformationId: missing }),
      'body.transformationId',
    ],
    [
      "another workspace's transformation",
      (f: Fixture) => ({
        sourceId: f.source,
        destinationId: f.spareDestination,
        transformationId: f.w2.transformation,
      }),
      'body.transformationId',
    ],
    [
      'enabled as a string',
      (f: Fixture) => ({ sourceId: f.source, destinationId: f.spareDestination, enabled: 'x' }),
      'body.enabled',
    ],
    [
      'a workspace id',
      (f: Fixture) => ({ sourceId: f.source, destinationId: f.spareDestination, workspaceId: 'ws_x' }),
      'body.workspaceId',
      unknownField,
    ],
  ]),
  ...refuses('patch', '/connections/{connectionId}', [
    ['enabled as a string', { enabled: 'x' }, 'body.enabled'],
    ['an unknown transformation', { transformationId: missing }, 'body.transformationId'],
    [
      "another workspace's transformation",
      (f: Fixture) => ({ transformationId: f.w2.transformation }),
      'body.transformationId',
    ],
    ['a numeric transformation id', { transformationId: 5 }, 'body.transformationId'],
    [
      'a new source (ends are fixed)',
      (f: Fixture) => ({ sourceId: f.w2.source }),
      'body.sourceId',
      unknownField,
    ],
  ]),
  ...refuses('post', '/transformations', [
    ['no name', { code: CODE }, 'body.name'],
    ['no code', { name: 'T' }, 'body.code'],
    ['numeric code', { name: 'T', code: 42 }, 'body.code'],
    ['another language', { name: 'T', code: CODE, language: 'python' }, 'body.language'],
    [
      'code over the byte limit',
      { name: 'T', code: OVERSIZED_CODE },
      'body.code',
      { details: { maxBytes: MAX_CODE_BYTES, bytes: Buffer.byteLength(OVERSIZED_CODE) } },
    ],
    [
      'a syntax error',
      { name: 'T', code: 'function transformEvent(event) {\n  return event;\n' },
      'body.code',
      { message: /not valid JavaScript: Unexpected end of input/ },
    ],
    [
      'a syntax error on line 2',
      { name: 'T', code: 'function transformEvent(event) {\n  return event +;\n}' },
      'body.code',
      { message: /Unexpected token/, details: { line: 2 } },
    ],
    [
      'no entry point',
      { name: 'T', code: 'function transform(event) { return event; }' },
      'body.code',
      { message: /transformEvent.*transformBatch/ },
    ],
    [
      'an ES module export',
      { name: 'T', code: `export ${CODE}` },
      'body.code',
      { message: /without `export`/ },
    ],
    [
      'a version of its own',
      { name: 'T', code: CODE, currentVersion: 3 },
      'body.currentVersion',
      unknownField,
    ],
  ]),
  ...refuses('patch', '/transformations/{transformationId}', [
    ['a syntax error', { code: 'function transformEvent( {' }, 'body.code'],
    ['code over the byte limit', { code: OVERSIZED_CODE }, 'body.code'],
    ['a blank name', { name: '' }, 'body.name'],
    ['a language', { language: 'javascript' }, 'body.language', unknownField],
    ['a current version', { currentVersion: 1 }, 'body.currentVersion', unknownField],
  ]),
];

describe('validation of workspace objects', () => {
  let t: TestControlPlane;
  let member: TestUser;
  let tenantId: string;
  let f: Fixture;

  const create = async (path: string, body: Record<string, unknown>): Promise<string> => {
    const res = await t.call('post', path, { token: member.token, body });
    expect(res.status).toBe(201);
    return res.body.id;
  };

  beforeAll(async () => {
    t = await startTestControlPlane({ MAX_TRANSFORMATION_BYTES: String(MAX_CODE_BYTES) });
    const owner = await t.createUser();
    member = await t.createUser();
    const created = await t.createTenant(owner);
    tenantId = created.tenantId;
    await t.addMember(tenantId, member, 'member');
    const w2 = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      w2,
      'Second',
    ]);
    const base = `/v1/tenants/${tenantId}/workspaces/${created.workspaceId}`;
    const base2 = `/v1/tenants/${tenantId}/workspaces/${w2}`;
    const ids = async (at: string) => ({
      source: await create(`${at}/sources`, { name: 'S' }),
      destination: await create(`${at}/destinations`, hook()),
      transformation: await create(`${at}/transformations`, { name: 'T', code: CODE }),
    });
    const w1 = await ids(base);
    f = {
      base,
      ...w1,
      connection: await create(`${base}/connections`, { sourceId: w1.source, destinationId: w1.destination }),
      spareDestination: await create(`${base}/destinations`, hook()),
      w2: await ids(base2),
    };
  });
  afterAll(async () => {
    await t.stop();
  });

  test.each(CASES.map((c) => [`${c.method.toUpperCase()} ${c.route}: ${c.what} -> ${c.field}`, c] as const))(
    '%s',
    async (_name, c) => {
      const before = await snapshotTenant(t.cp.deps.db.pool, tenantId);
      const body: unknown = typeof c.body === 'function' ? (c.body as (f: Fixture) => unknown)(f) : c.body;
      const res = await t.call(c.method, pathOf(c.route, f), { token: member.token, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.field).toBe(c.field);
      expect(res.body.error.message.startsWith(`${c.field}: `)).toBe(true);
      if (c.also?.message) expect(res.body.error.message).toMatch(c.also.message);
      if (c.also?.details) expect(res.body.error.details).toMatchObject(c.also.details);
      expect(await snapshotTenant(t.cp.deps.db.pool, tenantId)).toEqual(before);
    },
  );

  test('has cases for every route with a body under sources, destinations, connections, transformations', () => {
    const owned = new Set(['sources', 'destinations', 'connections', 'transformations']);
    const routes = allRoutes
      .filter((r) => r.body !== undefined && r.path.startsWith(`${WORKSPACE_PATH}/`))
      .map((r) => `${r.method} ${r.path.slice(WORKSPACE_PATH.length)}`)
      .filter((r) => owned.has(r.split('/')[1] ?? ''));
    const covered = new Set(CASES.map((c) => `${c.method} ${c.route}`));
    expect([...covered].sort()).toEqual([...new Set(routes)].sort());
  });
});
