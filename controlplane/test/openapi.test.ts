import { Validator } from '@seriousme/openapi-schema-validator';
import type express from 'express';
import { Registry } from 'prom-client';
import { createHttpApp } from '../src/http/server.ts';
import { allRoutes } from '../src/http/routes.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** "METHOD /path/{param}" for every route express actually mounted. */
function mountedRoutes(app: express.Express): string[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods).map(
        (m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`,
      ),
    )
    .sort();
}

describe('OpenAPI document', () => {
  let t: TestControlPlane;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
  };

  beforeAll(async () => {
    t = await startTestControlPlane();
    const res = await t.call('get', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await t.stop();
  });

  test('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test('lists exactly the routes the server mounts', () => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(
      mountedRoutes(createHttpApp({ ...t.cp.deps, metrics: new Registry() }, allRoutes)),
    );
    expect(documented.length).toBeGreaterThan(5);
  });

  test('declares every path parameter of every operation', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(ops)) {
        const declared = op.parameters
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort();
        expect({ route: `${method} ${path}`, params: declared }).toEqual({
          route: `${method} ${path}`,
          params: inPath,
        });
      }
    }
  });
});
