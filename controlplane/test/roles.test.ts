import { allRoutes } from '../src/http/routes.ts';
import { roleAtLeast, type Role } from '../src/auth/principal.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';
import { insertApiToken, seedTenant, snapshotTenant, type SeededTenant } from './support/tenant-fixtures.ts';
import { callApi, fillPath, routeName, sampleBody, sampleQuery } from './support/route-requests.ts';

/** Every route that names a least role, i.e. every route of a tenant's API. */
const guarded = allRoutes.filter((r) => r.role !== undefined);

type Caller = { name: string; role: Exclude<Role, 'owner'>; kind: 'user' | 'api-token' };
const CALLERS: Caller[] = (['viewer', 'member', 'admin'] as const).flatMap((role) => {
  const article = role === 'admin' ? 'an' : 'a';
  return [
    { name: `${article} ${role}`, role, kind: 'user' as const },
    { name: `${article} ${role} API token`, role, kind: 'api-token' as const },
  ];
});

describe('roles, from the route table', () => {
  let t: TestControlPlane;
  let a: SeededTenant;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestControlPlane({ CONFIG_MAX_WAIT_SECONDS: '1', LOG_LEVEL: 'warn' });
    a = await seedTenant(t);
    for (const caller of CALLERS) {
      if (caller.kind === 'user') {
        const user = await t.createUser();
        await t.addMember(a.ids.tenant, user, caller.role);
        tokens.set(caller.name, user.token);
      } else {
        tokens.set(caller.name, await insertApiToken(t.cp.deps.db.pool, a.ids.tenant, caller.role));
      }
    }
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Calls `route` in tenant A with A's ids and a valid body. */
  async function call(route: (typeof guarded)[number], token: string) {
    const path =
      fillPath(route.path, (p) => ('literal' in p ? p.literal : a.ids[p.kind])) +
      sampleQuery(route, (k) => a.ids[k]);
    return callApi(t.url, route.method, path, { token, body: sampleBody(route, (k) => a.ids[k]) });
  }

  const snapshotA = () =>
    // Using an API token stamps its last_used_at; that is the only change a refused call may make.
    snapshotTenant(t.cp.deps.db.pool, a.ids.tenant, { ignore: ['last_used_at'] });

  test.each(CALLERS)(
    '$name gets 403 from every route above its role, and nothing changes',
    async (caller) => {
      const token = tokens.get(caller.name)!;
      const before = await snapshotA();
      const refused: string[] = [];
      const findings: { route: string; status: number; body: unknown }[] = [];
      for (const route of guarded.filter((r) => !roleAtLeast(caller.role, r.role!))) {
        const answer = await call(route, token);
        if (answer.status === 403) refused.push(routeName(route));
        else findings.push({ route: routeName(route), status: answer.status, body: answer.body });
      }
      expect(findings).toEqual([]);
      expect(await snapshotA()).toEqual(before);

      // The sweep is not vacuous: managing people and tokens, and deleting the tenant, are among the refusals.
      const adminOnly = [
        'POST /v1/tenants/{tenantId}/members',
        'PATCH /v1/tenants/{tenantId}/members/{userId}',
        'DELETE /v1/tenants/{tenantId}/members/{userId}',
        'POST /v1/tenants/{tenantId}/api-tokens',
        'POST /v1/tenants/{tenantId}/workspaces',
        'PATCH /v1/tenants/{tenantId}',
      ];
      const expected = ['DELETE /v1/tenants/{tenantId}', ...(caller.role === 'admin' ? [] : adminOnly)];
      expect(refused).toEqual(expect.arrayContaining(expected));
    },
  );

  test.each(CALLERS.filter((c) => c.role === 'viewer'))(
    '$name reads every route a viewer may read, answered as documented',
    async (caller) => {
      const token = tokens.get(caller.name)!;
      const reads = guarded.filter((r) => r.method === 'get' && r.role === 'viewer');
      const findings: { route: string; status: number; body: unknown }[] = [];
      for (const route of reads) {
        const answer = await call(route, token);
        const schema = route.responses[answer.status]?.schema;
        const documented = schema === undefined || schema.safeParse(answer.body).success;
        if (answer.status >= 300 || !documented)
          findings.push({ route: routeName(route), status: answer.status, body: answer.body });
      }
      expect(reads.map(routeName)).toEqual(
        expect.arrayContaining([
          'GET /v1/tenants/{tenantId}',
          'GET /v1/tenants/{tenantId}/members',
          'GET /v1/tenants/{tenantId}/workspaces',
        ]),
      );
      expect(findings).toEqual([]);
    },
  );
});
