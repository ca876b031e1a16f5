import { waitFor } from '@rudder/devkit';
import {
  ChildControlPlane,
  prepareChildEnvironment,
  type ChildEnvironment,
} from './support/child-control-plane.ts';
import type { TestUser } from './support/harness.ts';

const JOBS = 20;

/** Asks for JOBS onboardings and returns their job ids by tenant id. */
async function onboardMany(cp: ChildControlPlane, user: TestUser, tag: string): Promise<Map<string, string>> {
  const jobs = new Map<string, string>();
  for (let i = 0; i < JOBS; i++) {
    const id = `${tag}-${i}`;
    const res = await cp.call('post', '/v1/tenants', {
      token: user.token,
      body: { name: `Tenant ${i}`, id },
    });
    expect(res.status).toBe(202);
    jobs.set(id, res.body.jobId);
  }
  return jobs;
}

async function states(env: ChildEnvironment, jobIds: string[]): Promise<Record<string, number>> {
  const r = await env.pool.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM jobs WHERE id = ANY($1) GROUP BY state',
    [jobIds],
  );
  return Object.fromEntries(r.rows.map((row) => [row.state, row.n]));
}

/** Waits until the API reports every job completed; returns the jobs as the API shows them. */
async function allCompleted(cp: ChildControlPlane, user: TestUser, jobIds: string[]): Promise<any[]> {
  return waitFor(
    'every onboarding job to complete',
    async () => {
      const jobs = await Promise.all(
        jobIds.map(async (id) => (await cp.call('get', `/v1/jobs/${id}`, { token: user.token })).body),
      );
      const failed = jobs.find((j) => j.state === 'failed');
      if (failed) throw new Error(`job ${String(failed.id)} failed: ${String(failed.error)}`);
      return jobs.every((j) => j.state === 'completed') ? jobs : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

async function countsPerTenant(
  env: ChildEnvironment,
  tenantIds: string[],
): Promise<Record<string, number[]>> {
  const r = await env.pool.query<{ id: string; counts: number[] }>(
    `SELECT t.id, ARRAY[
       (SELECT count(*) FROM workspaces w WHERE w.tenant_id = t.id),
       (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id AND m.role = 'owner'),
       (SELECT count(*) FROM dataplane_tokens d WHERE d.tenant_id = t.id),
       (SELECT count(*) FROM audit_log a WHERE a.tenant_id = t.id AND a.action = 'tenant.create')
     ]::int[] AS counts
     FROM tenants t WHERE t.id = ANY($1)`,
    [tenantIds],
  );
  return Object.fromEntries(r.rows.map((row) => [row.id, row.counts]));
}

describe('jobs across a control-plane crash', () => {
  const children: ChildControlPlane[] = [];
  const start = async (env: ChildEnvironment): Promise<ChildControlPlane> => {
    const cp = await ChildControlPlane.start(env.env);
    children.push(cp);
    return cp;
  };
  afterEach(async () => {
    await Promise.all(children.splice(0).map((cp) => cp.kill()));
  });

  test('onboardings queued or running when the control plane is killed all complete after a restart, each once', async () => {
    const env = await prepareChildEnvironment({ JOBS_CONCURRENCY: '1' });
    try {
      const user = await env.createUser();
      const first = await start(env);
      const jobs = await onboardMany(first, user, 'crash');
      const jobIds = [...jobs.values()];
      await waitFor(
        'a first onboarding to complete',
        async () => ((await states(env, jobIds))['completed'] ?? 0) >= 1,
      );
      await first.kill();
      const atKill = await states(env, jobIds);
      expect(atKill['completed'] ?? 0).toBeLessThan(JOBS);

      const second = await start(env);
      const finished = await allCompleted(second, user, jobIds);
      for (const job of finished)
        expect(job.result).toEqual({
          tenantId: job.tenantId,
          workspaceId: expect.any(String),
          instance: { status: 'pending' },
        });

      const counts = await countsPerTenant(env, [...jobs.keys()]);
      expect(Object.keys(counts).sort()).toEqual([...jobs.keys()].sort());
      // workspaces, owners, data-plane tokens, creation audit entries: one each
      for (const [tenant, c] of Object.entries(counts))
        expect({ tenant, c }).toEqual({ tenant, c: [1, 1, 1, 1] });
      const instances = await env.pool.query(
        `SELECT count(*)::int AS n FROM instances WHERE status = 'pending' AND tenant_id = ANY($1)`,
        [[...jobs.keys()]],
      );
      expect(instances.rows[0].n).toBe(JOBS);
    } finally {
      await env.cleanup();
    }
  }, 120_000);
});
