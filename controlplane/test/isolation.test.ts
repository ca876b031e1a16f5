import { allRoutes } from '../src/http/routes.ts';
import type { RouteSpec } from '../src/http/route.ts';
import { roleAtLeast, type Role } from '../src/auth/principal.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';
import { seedTenant, snapshotTenant, type IdKind, type SeededTenant } from './support/tenant-fixtures.ts';
import {
  callApi,
  fillPath,
  idFields,
  pathParams,
  routeName,
  sampleBody,
  sampleQuery,
  type Answer,
  type PathParam,
} from './support/route-requests.ts';

/**
 * Tenant A attacks tenant B through every route of the table. A's callers own
 * A outright; B holds one object of every kind. Nothing of B may be read or
 * changed, whatever ids A puts in paths and bodies.
 */

const authed = allRoutes.filter((r) => r.auth !== 'none');
const tenantRoutes = authed.filter((r) => r.path.includes('{tenantId}'));

type Attacker = { name: string; role: Role; token: (a: SeededTenant) => string };
const ATTACKERS: Attacker[] = [
  { name: "A's owner", role: 'owner', token: (a) => a.owner.token },
  { name: "A's admin API token", role: 'admin', token: (a) => a.apiToken },
];

/** A failed expectation, collected so one run lists every offending route. */
interface Finding {
  route: string;
  request: string;
  status: number;
  error?: unknown;
}

describe('tenant isolation, from the attacker side', () => {
  let t: TestControlPlane;
  let a: SeededTenant;
  let b: SeededTenant;
  /** Every string that identifies something of B: ids, write key, its people. */
  let secretsOfB: string[];
  let idsOfB: Set<string>;

  beforeAll(async () => {
    // Short long-polls: a config route that waits must not slow the sweep.
    t = await startTestControlPlane({ CONFIG_MAX_WAIT_SECONDS: '1', LOG_LEVEL: 'warn' });
    a = await seedTenant(t, { apiTokenRole: 'admin' });
    b = await seedTenant(t);
    idsOfB = new Set(Object.values(b.ids));
    secretsOfB = [
      ...idsOfB,
      b.writeKey,
      b.apiToken,
      b.dataplaneToken,
      b.owner.userId,
      b.owner.email,
      b.member.email,
    ];
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Calls `route` as `token` (A's data-plane token for data-plane routes) with the given ids. */
  async function attack(
    route: RouteSpec,
    token: string,
    pathValue: (p: PathParam) => string,
    idOf: (kind: IdKind) => string,
  ): Promise<{ request: string; answer: Answer; body: unknown }> {
    const path = fillPath(route.path, pathValue) + sampleQuery(route, idOf);
    const body = sampleBody(route, idOf);
    const answer = await callApi(t.url, route.method, path, {
      token: route.auth === 'dataplane' ? a.dataplaneToken : token,
      body,
    });
    return { request: `${route.method.toUpperCase()} ${path} ${JSON.stringify(body) ?? ''}`, answer, body };
  }

  const valueIn = (tenant: SeededTenant) => (p: PathParam) =>
    'literal' in p ? p.literal : tenant.ids[p.kind];

  async function expectBUnchanged(run: () => Promise<void>): Promise<void> {
    const before = await snapshotTenant(t.cp.deps.db.pool, b.ids.tenant);
    await run();
    expect(await snapshotTenant(t.cp.deps.db.pool, b.ids.tenant)).toEqual(before);
  }

  interface Variant {
    path: (p: PathParam) => string;
    body: (kind: IdKind) => string;
  }

  /**
   * Tenant A's path with B's ids in it: one parameter at a time among A's ids
   * (catches a handler that checks only some), then all of them (one that checks none).
   */
  function pathVariants(route: RouteSpec): Variant[] {
    const names = pathParams(route.path)
      .filter((p) => 'kind' in p && p.kind !== 'tenant')
      .map((p) => p.name);
    const sets = names.map((name) => new Set([name]));
    if (names.length > 1) sets.push(new Set(names));
    return sets.map((fromB) => ({
      path: (p) => ('literal' in p ? p.literal : (fromB.has(p.name) ? b : a).ids[p.kind]),
      body: (k) => a.ids[k],
    }));
  }

  /**
   * Tenant A's own path with B's objects named in the body: one kind at a time,
   * then all of them. Users are global, so naming one is no leak.
   */
  function bodyVariants(route: RouteSpec): Variant[] {
    const fromB = (kinds: ReadonlySet<IdKind>) => (k: IdKind) => (kinds.has(k) ? b : a).ids[k];
    const named = (Object.keys(b.ids) as IdKind[]).filter(
      (k) =>
        k !== 'user' && k !== 'tenant' && idFields(sampleBody(route, fromB(new Set([k]))), idsOfB).length > 0,
    );
    const sets = named.map((k) => new Set([k]));
    if (named.length > 1) sets.push(new Set(named));
    return sets.map((kinds) => ({ path: valueIn(a), body: fromB(kinds) }));
  }

  test('the route table has tenant routes to attack, and every user route under a tenant declares a role', () => {
    expect(tenantRoutes.length).toBeGreaterThan(10);
    const unguarded = tenantRoutes.filter((r) => r.auth === 'user' && r.role === undefined).map(routeName);
    expect(unguarded).toEqual([]);
  });

  test('knows how to fill every path parameter of every route', () => {
    // pathParams throws, naming the route and parameter, for anything it cannot fill.
    for (const route of authed) expect(() => pathParams(route.path)).not.toThrow();
  });

  describe.each(ATTACKERS)('as $name', (attacker) => {
    test('every route of tenant B answers 404 or 403, and B is unchanged', async () => {
      const findings: Finding[] = [];
      await expectBUnchanged(async () => {
        for (const route of tenantRoutes) {
          const { request, answer } = await attack(route, attacker.token(a), valueIn(b), (k) => b.ids[k]);
          if (answer.status !== 404 && answer.status !== 403)
            findings.push({ route: routeName(route), request, status: answer.status, error: answer.body });
        }
      });
      expect(findings).toEqual([]);
    });

    test("routes of tenant A given B's ids answer 404 (or 400 naming B's object), and B is unchanged", async () => {
      const findings: Finding[] = [];
      let calls = 0;
      await expectBUnchanged(async () => {
        for (const route of tenantRoutes) {
          for (const variant of [...pathVariants(route), ...bodyVariants(route)]) {
            const { request, answer, body } = await attack(
              route,
              attacker.token(a),
              variant.path,
              variant.body,
            );
            calls++;
            if (!refused(route, attacker.role, answer, idFields(body, idsOfB)))
              findings.push({ route: routeName(route), request, status: answer.status, error: answer.body });
          }
        }
      });
      expect(calls).toBeGreaterThan(5);
      expect(findings).toEqual([]);
    });

    test("routes outside tenants refuse B's ids", async () => {
      // Outside any tenant, the routes whose path names an object (`/v1/jobs/{jobId}`), not only literals.
      const idRoutes = authed.filter(
        (r) => !r.path.includes('{tenantId}') && pathParams(r.path).some((p) => 'kind' in p),
      );
      const findings: Finding[] = [];
      await expectBUnchanged(async () => {
        for (const route of idRoutes) {
          const { request, answer } = await attack(route, attacker.token(a), valueIn(b), (k) => b.ids[k]);
          if (answer.status !== 404 && answer.status !== 403)
            findings.push({ route: routeName(route), request, status: answer.status, error: answer.body });
        }
      });
      expect(findings).toEqual([]);
    });

    test('what A can read never shows anything of B', async () => {
      const findings: Finding[] = [];
      let answered = 0;
      for (const route of authed.filter((r) => r.method === 'get')) {
        const { request, answer } = await attack(route, attacker.token(a), valueIn(a), (k) => a.ids[k]);
        if (answer.status < 300) answered++;
        // A refusal (an API token asking for `/v1/me`) shows nothing either; errors are findings.
        const leaked = secretsOfB.filter((s) => answer.text.includes(s));
        if (answer.status >= 500 || leaked.length > 0)
          findings.push({ route: routeName(route), request, status: answer.status, error: leaked });
      }
      expect(answered).toBeGreaterThan(5);
      expect(findings).toEqual([]);
    });
  });
});

/**
 * True when A's call was refused without touching B: a 404; a 403 from the
 * route's role (the attacker's role is below it); or a 400 naming one of the
 * body fields that carried B's ids. Any other 400 means the sampled request was
 * wrong, which would hide a leak, so it counts as a finding.
 */
function refused(route: RouteSpec, role: Role, answer: Answer, namedFields: string[]): boolean {
  if (answer.status === 404) return true;
  if (answer.status === 403) return route.role !== undefined && !roleAtLeast(role, route.role);
  if (answer.status !== 400) return false;
  const error = (answer.body as { error?: { message?: string; details?: { field?: string } } })?.error;
  return namedFields.some((f) => error?.details?.field === f || (error?.message ?? '').startsWith(`${f}:`));
}
