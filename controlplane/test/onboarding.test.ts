import { createHash } from 'node:crypto';
import { waitFor } from '@rudder/devkit';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';
import { newOpaqueToken } from '../src/auth/tokens.ts';
import { newId } from '../src/ids.ts';
import { runOnboarding } from '../src/jobs/onboarding.ts';
import { insertJob } from '../src/jobs/job-repo.ts';
import { recoverJobs } from '../src/jobs/job-recovery.ts';
import type { JobContext } from '../src/jobs/job-runner.ts';
import type { Kube } from '../src/jobs/kube.ts';

describe('tenant onboarding', () => {
  let t: TestControlPlane;
  beforeAll(async () => {
    t = await startTestControlPlane();
  });
  afterAll(async () => {
    await t.stop();
  });

  const uniqueId = (): string => `acme-${newId.tenant().slice(1, 9)}`;

  async function onboard(
    user: TestUser,
    body: Record<string, unknown>,
  ): Promise<{ jobId: string; tenantId: string }> {
    const res = await t.call('post', '/v1/tenants', { token: user.token, body });
    expect(res.status).toBe(202);
    return res.body;
  }

  async function finished(user: TestUser, jobId: string): Promise<any> {
    return waitFor(`job ${jobId} to finish`, async () => {
      const res = await t.call('get', `/v1/jobs/${jobId}`, { token: user.token });
      return res.status === 200 && ['completed', 'failed'].includes(res.body.state) ? res.body : undefined;
    });
  }

  async function count(sql: string, params: unknown[]): Promise<number> {
    const r = await t.cp.deps.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
    return r.rows[0]!.n;
  }

  test('without a cluster ends completed with a pending instance, one token, and the tenant and workspace once', async () => {
    const user = await t.createUser();
    const id = uniqueId();
    const res = await t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Acme', id } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: expect.stringMatching(/^job_/), tenantId: id });
    expect(res.headers.get('location')).toBe(`/v1/jobs/${String(res.body.jobId)}`);

    const job = await finished(user, res.body.jobId);
    expect(job).toMatchObject({
      id: res.body.jobId,
      kind: 'onboarding',
      tenantId: id,
      requestedBy: user.userId,
      state: 'completed',
      error: null,
      attempts: 1,
      result: { tenantId: id, workspaceId: expect.stringMatching(/^ws_/), instance: { status: 'pending' } },
      progress: {
        step: 'done',
        done: ['create-tenant', 'issue-token'],
        workspaceId: job.result.workspaceId,
        dataplaneTokenId: expect.stringMatching(/^dpt_/),
        instance: { status: 'pending', message: expect.stringContaining('no Kubernetes cluster') },
      },
    });

    expect(await count('tenants WHERE id = $1', [id])).toBe(1);
    expect(await count('workspaces WHERE tenant_id = $1', [id])).toBe(1);
    expect(
      await count(`memberships WHERE tenant_id = $1 AND user_id = $2 AND role = 'owner'`, [id, user.userId]),
    ).toBe(1);
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [id])).toBe(1);
    expect(
      await count('dataplane_tokens WHERE tenant_id = $1 AND id = $2', [id, job.progress.dataplaneTokenId]),
    ).toBe(1);
    expect(await count(`audit_log WHERE tenant_id = $1 AND action = 'tenant.create'`, [id])).toBe(1);

    const instance = await t.call('get', `/v1/tenants/${id}/instance`, { token: user.token });
    expect(instance.status).toBe(200);
    expect(instance.body).toMatchObject({
      tenantId: id,
      name: id,
      status: 'pending',
      message: expect.stringContaining('no Kubernetes cluster'),
      dataplaneTokenId: job.progress.dataplaneTokenId,
    });

    const list = await t.call('get', `/v1/tenants/${id}/jobs`, { token: user.token });
    expect(list.status).toBe(200);
    expect(list.body.jobs.map((j: { id: string }) => j.id)).toEqual([res.body.jobId]);
  });

  test('generates a DNS-label tenant id when none is given', async () => {
    const user = await t.createUser();
    const { jobId, tenantId } = await onboard(user, { name: 'Generated' });
    expect(tenantId).toMatch(/^t[a-z0-9]{11}$/);
    expect((await finished(user, jobId)).state).toBe('completed');
    expect(await count('workspaces WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [tenantId])).toBe(1);
  });

  test('shows a job to its requester and the tenant members only; others get 404', async () => {
    const owner = await t.createUser();
    const outsider = await t.createUser();
    const { jobId, tenantId } = await onboard(owner, { name: 'Private', id: uniqueId() });
    await finished(owner, jobId);

    expect((await t.call('get', `/v1/jobs/${jobId}`, { token: outsider.token })).status).toBe(404);
    expect((await t.call('get', `/v1/tenants/${tenantId}/jobs`, { token: outsider.token })).status).toBe(404);
    expect((await t.call('get', `/v1/tenants/${tenantId}/instance`, { token: outsider.token })).status).toBe(
      404,
    );
    expect((await t.call('get', '/v1/jobs/job_doesnotexist', { token: owner.token })).status).toBe(404);

    await t.addMember(tenantId, outsider, 'viewer');
    expect((await t.call('get', `/v1/jobs/${jobId}`, { token: outsider.token })).status).toBe(200);
    expect((await t.call('get', `/v1/tenants/${tenantId}/jobs`, { token: outsider.token })).status).toBe(200);
  });

  test("refuses API tokens, which belong to a tenant, and shows them only their tenant's jobs", async () => {
    const owner = await t.createUser();
    const { jobId, tenantId } = await onboard(owner, { name: 'Tokens', id: uniqueId() });
    await finished(owner, jobId);
    const other = await t.createTenant(owner);
    const tokenOf = async (tenant: string): Promise<string> => {
      const { token, hash } = newOpaqueToken('api');
      await t.cp.deps.db.pool.query(
        `INSERT INTO api_tokens (id, tenant_id, name, role, token_hash) VALUES ($1, $2, 'ci', 'admin', $3)`,
        [newId.apiToken(), tenant, hash],
      );
      return token;
    };
    const own = await tokenOf(tenantId);
    const foreign = await tokenOf(other.tenantId);

    const refused = await t.call('post', '/v1/tenants', { token: own, body: { name: 'Nope' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect((await t.call('get', `/v1/jobs/${jobId}`, { token: own })).status).toBe(200);
    expect((await t.call('get', `/v1/jobs/${jobId}`, { token: foreign })).status).toBe(404);
  });

  test('answers a repeated request with the same job, and refuses a taken or malformed id', async () => {
    const user = await t.createUser();
    const id = uniqueId();
    const [a, b] = await Promise.all([
      t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Twice', id } }),
      t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Twice', id } }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.jobId).toBe(a.body.jobId);
    await finished(user, a.body.jobId);
    expect(await count('jobs WHERE tenant_id = $1', [id])).toBe(1);

    const again = await t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Again', id } });
    expect(again.status).toBe(409);
    const intruder = await t.createUser();
    const stolen = await t.call('post', '/v1/tenants', { token: intruder.token, body: { name: 'Mine', id } });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error.details).toMatchObject({ field: 'body.id' });

    for (const bad of ['AB', 'ab', '-abc', 'abc-', 'a'.repeat(41), 'under_score']) {
      const res = await t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Bad', id: bad } });
      expect({ bad, status: res.status, field: res.body.error.details?.field }).toEqual({
        bad,
        status: 400,
        field: 'body.id',
      });
    }
    const reserved = await t.call('post', '/v1/tenants', {
      token: user.token,
      body: { name: 'K', id: 'kube-system' },
    });
    expect(reserved.status).toBe(400);
    expect(
      (await t.call('post', '/v1/tenants', { token: user.token, body: { id: uniqueId() } })).status,
    ).toBe(400);
    expect((await t.call('post', '/v1/tenants', { body: { name: 'Anonymous' } })).status).toBe(401);
  });

  test('a re-run that lost its progress finds the tenant, workspace and token instead of duplicating them', async () => {
    const user = await t.createUser();
    const { jobId, tenantId } = await onboard(user, { name: 'Rerun', id: uniqueId() });
    const first = await finished(user, jobId);

    const reports: object[] = [];
    const ctx: JobContext = {
      jobId,
      log: t.cp.deps.logger,
      previousProgress: {},
      report: async (p) => {
        reports.push(structuredClone(p));
      },
      pause: async () => {},
    };
    const data = {
      jobId,
      requestedBy: user.userId,
      requestedByEmail: user.email,
      tenantId,
      tenantName: 'Rerun',
    };
    const options = { readyPollMs: 10, readyTimeoutMs: 1000 };
    const again = await runOnboarding(t.cp.deps, data, ctx, options);

    expect(again).toEqual(first.result);
    expect(reports.at(-1)).toMatchObject({ step: 'done', dataplaneTokenId: first.progress.dataplaneTokenId });
    expect(await count('tenants WHERE id = $1', [tenantId])).toBe(1);
    expect(await count('workspaces WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await count(`audit_log WHERE tenant_id = $1 AND action = 'tenant.create'`, [tenantId])).toBe(1);
  });

  test('with a cluster, a token is recorded only together with its Secret: a failed apply leaves none behind', async () => {
    const user = await t.createUser();
    const tenantId = uniqueId();
    const applied: (string | undefined)[] = [];
    let failNext = true;
    let ready = false;
    const kube: Kube = {
      applyInstance: async (input) => {
        applied.push(input.dataplaneToken);
        if (failNext) {
          failNext = false;
          throw new Error('the API server went away');
        }
      },
      instanceStatus: async () => ({ ready, message: ready ? 'serving' : 'provisioning' }),
    };
    const deps = {
      db: t.cp.deps.db,
      kube,
      config: { ...t.cp.deps.config, http: { ...t.cp.deps.config.http, publicUrl: 'https://cp.test' } },
    };
    const reports: any[] = [];
    const ctx = (previousProgress: Record<string, unknown>): JobContext => ({
      jobId: 'job_test',
      log: t.cp.deps.logger,
      previousProgress,
      report: async (p) => {
        reports.push(structuredClone(p));
      },
      pause: async () => {
        ready = true;
      },
    });
    const data = {
      jobId: 'job_test',
      requestedBy: user.userId,
      requestedByEmail: user.email,
      tenantId,
      tenantName: 'Kube',
    };
    const options = { readyPollMs: 1, readyTimeoutMs: 60_000 };

    await expect(runOnboarding(deps, data, ctx({}), options)).rejects.toThrow('went away');
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [tenantId])).toBe(0);

    const result = await runOnboarding(deps, data, ctx(reports.at(-1)), options);
    expect(result).toMatchObject({ tenantId, instance: { status: 'ready' } });
    expect(applied).toHaveLength(2);
    expect(applied[1]).toMatch(/^rdr_dp_/);
    expect(applied[1]).not.toBe(applied[0]);
    const hash = createHash('sha256').update(applied[1]!).digest();
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await count('dataplane_tokens WHERE tenant_id = $1 AND token_hash = $2', [tenantId, hash])).toBe(
      1,
    );
    expect(reports.at(-1)).toMatchObject({
      step: 'done',
      done: ['create-tenant', 'issue-token', 'apply-instance', 'wait-ready'],
      instance: { status: 'ready', message: 'serving' },
    });
    expect(reports.some((r) => r.instance?.status === 'creating')).toBe(true);
    const instance = await t.cp.deps.db.pool.query(
      'SELECT status, message FROM instances WHERE tenant_id = $1',
      [tenantId],
    );
    expect(instance.rows[0]).toEqual({ status: 'ready', message: 'serving' });
  });

  test('fails at once when its tenant id was taken meanwhile, and the same request runs it again once the id is free', async () => {
    const user = await t.createUser();
    const other = await t.createUser();
    const id = uniqueId();
    await t.createTenant(other, id);
    // As if the API had accepted the request just before someone else's tenant took the id.
    const data = {
      jobId: newId.job(),
      requestedBy: user.userId,
      requestedByEmail: user.email,
      tenantId: id,
      tenantName: 'Late',
    };
    await insertJob(t.cp.deps.db.pool, {
      id: data.jobId,
      kind: 'onboarding',
      tenantId: id,
      requestedBy: user.userId,
      data,
    });
    await t.cp.deps.queues.ensureEnqueued({ kind: 'onboarding', data });

    const failed = await finished(user, data.jobId);
    expect(failed).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: expect.stringContaining('is taken'),
    });

    await t.cp.deps.db.pool.query('DELETE FROM tenants WHERE id = $1', [id]);
    const again = await t.call('post', '/v1/tenants', { token: user.token, body: { name: 'Late', id } });
    expect(again.status).toBe(202);
    expect(again.body.jobId).toBe(data.jobId);
    const rerun = await finished(user, data.jobId);
    expect(rerun).toMatchObject({ state: 'completed', attempts: 1, error: null });
    expect(
      await count(`memberships WHERE tenant_id = $1 AND user_id = $2 AND role = 'owner'`, [id, user.userId]),
    ).toBe(1);
    expect(await count('dataplane_tokens WHERE tenant_id = $1', [id])).toBe(1);
  });

  test('a job whose record was committed but never enqueued (a crash in between) is enqueued by reconciliation', async () => {
    const user = await t.createUser();
    const id = uniqueId();
    const data = {
      jobId: newId.job(),
      requestedBy: user.userId,
      requestedByEmail: user.email,
      tenantId: id,
      tenantName: 'Orphan',
    };
    await insertJob(t.cp.deps.db.pool, {
      id: data.jobId,
      kind: 'onboarding',
      tenantId: id,
      requestedBy: user.userId,
      data,
    });
    expect(await t.cp.deps.queues.getJob('onboarding', data.jobId)).toBeUndefined();

    await recoverJobs(t.cp.deps);
    expect((await finished(user, data.jobId)).state).toBe('completed');
    expect(await count('tenants WHERE id = $1', [id])).toBe(1);
  });

  test('never writes a data-plane token to the job records or the logs', async () => {
    const user = await t.createUser();
    const { jobId } = await onboard(user, { name: 'Secrets', id: uniqueId() });
    await finished(user, jobId);
    expect(
      await count(
        `jobs WHERE data::text LIKE '%rdr_dp_%' OR progress::text LIKE '%rdr_dp_%' OR result::text LIKE '%rdr_dp_%'`,
        [],
      ),
    ).toBe(0);
    expect(t.logs()).not.toContain('rdr_dp_');
  });
});
