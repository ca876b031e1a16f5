import { waitFor } from '@rudder/devkit';
import type { Queryable } from '../src/db/db.ts';
import { newId, newWriteKey } from '../src/ids.ts';
import { createTenant } from '../src/tenants/tenant-repo.ts';
import { issueDataplaneToken } from '../src/dataplane-api/dataplane-tokens.ts';
import {
  startTestControlPlane,
  type ApiResponse,
  type TestControlPlane,
  type TestUser,
} from './support/harness.ts';
import { ChildControlPlane, prepareChildEnvironment } from './support/child-control-plane.ts';

interface Seeded {
  tenantId: string;
  workspaceId: string;
  sourceId: string;
  destinationId: string;
  /** A data-plane token of the tenant. */
  dataplane: string;
}

/** A tenant owned by `ownerUserId` with a workspace holding one source and one destination. */
async function seedTenant(q: Queryable, ownerUserId: string): Promise<Seeded> {
  const tenantId = newId.tenant();
  const { workspaceId } = await createTenant(q, { id: tenantId, name: 'Replays', ownerUserId });
  const sourceId = newId.source();
  const destinationId = newId.destination();
  await q.query(
    'INSERT INTO sources (tenant_id, workspace_id, id, name, write_key) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, workspaceId, sourceId, 'web', newWriteKey()],
  );
  await q.query(
    'INSERT INTO destinations (tenant_id, workspace_id, id, name, type) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, workspaceId, destinationId, 'hook', 'webhook'],
  );
  const { token } = await issueDataplaneToken(q, tenantId, 'test');
  return { tenantId, workspaceId, sourceId, destinationId, dataplane: token };
}

const hourAgo = (): string => new Date(Date.now() - 3600_000).toISOString();
const minuteAgo = (): string => new Date(Date.now() - 60_000).toISOString();

type Call = (
  method: string,
  path: string,
  options?: { token?: string; body?: unknown },
) => Promise<ApiResponse>;

function replayBody(s: Seeded, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    workspaceId: s.workspaceId,
    sourceId: s.sourceId,
    destinationId: s.destinationId,
    from: hourAgo(),
    to: minuteAgo(),
    ...overrides,
  };
}

async function requestReplay(
  call: Call,
  user: TestUser,
  s: Seeded,
): Promise<{ jobId: string; replayId: string }> {
  const res = await call('post', `/v1/tenants/${s.tenantId}/replays`, {
    token: user.token,
    body: replayBody(s),
  });
  expect(res.status).toBe(202);
  return res.body;
}

function jobWhere(
  call: Call,
  user: TestUser,
  jobId: string,
  what: string,
  ok: (job: any) => boolean,
): Promise<any> {
  return waitFor(`job ${jobId}: ${what}`, async () => {
    const res = await call('get', `/v1/jobs/${jobId}`, { token: user.token });
    return res.status === 200 && ok(res.body) ? res.body : undefined;
  });
}

describe('replays', () => {
  let t: TestControlPlane;
  let owner: TestUser;
  let s: Seeded;
  let call: Call;
  beforeAll(async () => {
    t = await startTestControlPlane();
    call = t.call;
    owner = await t.createUser();
    s = await seedTenant(t.cp.deps.db.pool, owner.userId);
  });
  afterAll(async () => {
    await t.stop();
  });

  const progress = (replayId: string, body: unknown, token = s.dataplane): Promise<ApiResponse> =>
    call('post', `/v1/dataplane/replays/${replayId}/progress`, { token, body });

  test('the data plane lists a requested replay; the job mirrors its reports and completes with it', async () => {
    const body = replayBody(s);
    const created = await call('post', `/v1/tenants/${s.tenantId}/replays`, { token: owner.token, body });
    expect(created.status).toBe(202);
    const { jobId, replayId } = created.body as { jobId: string; replayId: string };
    expect(created.headers.get('location')).toBe(`/v1/jobs/${jobId}`);

    const replay = await call('get', `/v1/tenants/${s.tenantId}/replays/${replayId}`, { token: owner.token });
    expect(replay.body).toMatchObject({
      id: replayId,
      jobId,
      workspaceId: s.workspaceId,
      status: 'requested',
      replayed: 0,
      total: null,
      from: new Date(body['from'] as string).toISOString(),
    });
    const listed = await call('get', '/v1/dataplane/replays', { token: s.dataplane });
    expect(listed.status).toBe(200);
    expect(listed.body.replays).toContainEqual({
      id: replayId,
      workspaceId: s.workspaceId,
      sourceId: s.sourceId,
      destinationId: s.destinationId,
      from: replay.body.from,
      to: replay.body.to,
      status: 'requested',
    });
    await jobWhere(
      call,
      owner,
      jobId,
      'waiting',
      (j) => j.state === 'active' && j.progress.status === 'requested',
    );

    expect((await progress(replayId, { status: 'running', replayed: 10, total: 100 })).status).toBe(204);
    const running = await jobWhere(call, owner, jobId, 'running 10/100', (j) => j.progress.replayed === 10);
    expect(running).toMatchObject({
      state: 'active',
      progress: { replayId, status: 'running', replayed: 10, total: 100 },
    });
    expect((await t.cp.deps.queues.replay.getJob(jobId))?.progress).toEqual(running.progress);

    expect((await progress(replayId, { status: 'completed', replayed: 100, total: 100 })).status).toBe(204);
    const done = await jobWhere(call, owner, jobId, 'completed', (j) => j.state === 'completed');
    expect(done).toMatchObject({
      kind: 'replay',
      tenantId: s.tenantId,
      requestedBy: owner.userId,
      error: null,
      result: { replayId, status: 'completed', replayed: 100, total: 100 },
    });
    const after = await call('get', '/v1/dataplane/replays', { token: s.dataplane });
    expect(after.body.replays.map((r: { id: string }) => r.id)).not.toContain(replayId);
    expect((await progress(replayId, { status: 'running', replayed: 1 })).status).toBe(409);
    const all = await call('get', `/v1/tenants/${s.tenantId}/replays`, { token: owner.token });
    expect(all.body.replays.find((r: { id: string }) => r.id === replayId)).toMatchObject({
      status: 'completed',
      replayed: 100,
    });
  });

  test('a cancelled replay answers the data plane 409 and its job completes as cancelled', async () => {
    const { jobId, replayId } = await requestReplay(call, owner, s);
    expect((await progress(replayId, { status: 'running', replayed: 5 })).status).toBe(204);

    const cancelled = await call('post', `/v1/tenants/${s.tenantId}/replays/${replayId}/cancel`, {
      token: owner.token,
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: replayId, status: 'cancelled', replayed: 5 });
    const late = await progress(replayId, { status: 'running', replayed: 6 });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('conflict');
    expect((await progress(replayId, { status: 'completed', replayed: 6 })).status).toBe(409);
    expect(
      (await call('post', `/v1/tenants/${s.tenantId}/replays/${replayId}/cancel`, { token: owner.token }))
        .status,
    ).toBe(409);

    const done = await jobWhere(call, owner, jobId, 'completed', (j) => j.state === 'completed');
    expect(done.result).toEqual({ replayId, status: 'cancelled', replayed: 5, total: null });
    const audit = await t.cp.deps.db.pool.query(
      `SELECT action FROM audit_log WHERE tenant_id = $1 AND object_id = $2 ORDER BY id`,
      [s.tenantId, replayId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['replay.create', 'replay.cancel']);
  });

  test("a failure the data plane reports fails the job with the data plane's error", async () => {
    const { jobId, replayId } = await requestReplay(call, owner, s);
    const res = await progress(replayId, {
      status: 'failed',
      replayed: 3,
      error: 'source archive unreadable',
    });
    expect(res.status).toBe(204);
    const failed = await jobWhere(call, owner, jobId, 'failed', (j) => j.state === 'failed');
    expect(failed).toMatchObject({ error: 'source archive unreadable', attempts: 1 });
    const replay = await call('get', `/v1/tenants/${s.tenantId}/replays/${replayId}`, { token: owner.token });
    expect(replay.body).toMatchObject({ status: 'failed', replayed: 3, error: 'source archive unreadable' });
  });

  test('a replay past its deadline is failed, and so is its job', async () => {
    const { jobId, replayId } = await requestReplay(call, owner, s);
    // As if it had been requested longer ago than REPLAY_TIMEOUT_SECONDS (6 h by default).
    await t.cp.deps.db.pool.query(
      `UPDATE replays SET created_at = now() - interval '7 hours' WHERE id = $1`,
      [replayId],
    );
    const failed = await jobWhere(call, owner, jobId, 'failed', (j) => j.state === 'failed');
    expect(failed.error).toMatch(/timed out/);
    expect((await progress(replayId, { status: 'running', replayed: 1 })).status).toBe(409);
  });

  test("keeps tenants apart: another tenant's data plane and users get 404", async () => {
    const { replayId } = await requestReplay(call, owner, s);
    const stranger = await t.createUser();
    const other = await seedTenant(t.cp.deps.db.pool, stranger.userId);

    expect((await progress(replayId, { status: 'running', replayed: 1 }, other.dataplane)).status).toBe(404);
    expect((await progress('rpl_unknown', { status: 'running', replayed: 1 })).status).toBe(404);
    const theirs = await call('get', '/v1/dataplane/replays', { token: other.dataplane });
    expect(theirs.body.replays).toEqual([]);
    expect(
      (await call('get', `/v1/tenants/${other.tenantId}/replays/${replayId}`, { token: stranger.token }))
        .status,
    ).toBe(404);
    expect(
      (await call('get', `/v1/tenants/${s.tenantId}/replays/${replayId}`, { token: stranger.token })).status,
    ).toBe(404);
    expect(
      (await call('post', `/v1/tenants/${s.tenantId}/replays/${replayId}/cancel`, { token: stranger.token }))
        .status,
    ).toBe(404);
    expect(
      (
        await call('post', `/v1/tenants/${other.tenantId}/replays/${replayId}/cancel`, {
          token: stranger.token,
        })
      ).status,
    ).toBe(404);

    // Another tenant's objects cannot be named in a replay either.
    const mixed = await call('post', `/v1/tenants/${other.tenantId}/replays`, {
      token: stranger.token,
      body: replayBody(other, { sourceId: s.sourceId }),
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.details.field).toBe('body.sourceId');
  });

  test('validates the request and who may make it', async () => {
    const post = (body: unknown, token = owner.token): Promise<ApiResponse> =>
      call('post', `/v1/tenants/${s.tenantId}/replays`, { token, body });
    const fieldOf = async (body: unknown): Promise<unknown> => {
      const res = await post(body);
      expect(res.status).toBe(400);
      return res.body.error.details.field;
    };
    const otherWorkspace = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      s.tenantId,
      otherWorkspace,
      'second',
    ]);

    expect(await fieldOf(replayBody(s, { workspaceId: 'ws_nope' }))).toBe('body.workspaceId');
    expect(await fieldOf(replayBody(s, { workspaceId: otherWorkspace }))).toBe('body.sourceId');
    expect(await fieldOf(replayBody(s, { sourceId: 'src_nope' }))).toBe('body.sourceId');
    expect(await fieldOf(replayBody(s, { destinationId: 'dst_nope' }))).toBe('body.destinationId');
    expect(await fieldOf(replayBody(s, { from: minuteAgo(), to: hourAgo() }))).toBe('body.to');
    expect(await fieldOf(replayBody(s, { to: new Date(Date.now() + 3600_000).toISOString() }))).toBe(
      'body.to',
    );
    expect(await fieldOf(replayBody(s, { from: 'yesterday' }))).toBe('body.from');

    const viewer = await t.createUser();
    await t.addMember(s.tenantId, viewer, 'viewer');
    expect((await post(replayBody(s), viewer.token)).status).toBe(403);
    expect((await call('get', `/v1/tenants/${s.tenantId}/replays`, { token: viewer.token })).status).toBe(
      200,
    );

    const { replayId } = await requestReplay(call, owner, s);
    expect((await progress(replayId, { status: 'running', replayed: -1 })).status).toBe(400);
    expect((await progress(replayId, { status: 'requested', replayed: 0 })).status).toBe(400);
    expect((await progress(replayId, { status: 'running', replayed: 1 }, owner.token)).status).toBe(401);
    expect((await call('get', `/v1/tenants/${s.tenantId}/replays`, { token: s.dataplane })).status).toBe(401);
  });
});

describe('a replay across a control-plane crash', () => {
  test('the job waits again after a SIGKILL, hands itself back on SIGTERM, and completes when the data plane reports', async () => {
    const env = await prepareChildEnvironment({ JOBS_LOCK_MS: '2000' });
    const children: ChildControlPlane[] = [];
    const start = async (): Promise<ChildControlPlane> => {
      const cp = await ChildControlPlane.start(env.env);
      children.push(cp);
      return cp;
    };
    try {
      const user = await env.createUser();
      const seeded = await seedTenant(env.pool, user.userId);
      const jobState = async (jobId: string): Promise<{ state: string; attempts: number }> =>
        (await env.pool.query('SELECT state, attempts FROM jobs WHERE id = $1', [jobId])).rows[0];

      const first = await start();
      const { jobId, replayId } = await requestReplay(first.call.bind(first), user, seeded);
      await waitFor('the replay job to wait', async () => (await jobState(jobId)).state === 'active');
      await first.kill();

      const second = await start();
      await waitFor('the replay job to wait again', async () => {
        const j = await jobState(jobId);
        return j.state === 'active' && j.attempts === 2;
      });
      const report = await second.call('post', `/v1/dataplane/replays/${replayId}/progress`, {
        token: seeded.dataplane,
        body: { status: 'running', replayed: 40, total: 80 },
      });
      expect(report.status).toBe(204);
      await jobWhere(
        second.call.bind(second),
        user,
        jobId,
        'running 40/80',
        (j) => j.progress.replayed === 40,
      );

      // A graceful stop does not wait hours for the replay: the job goes back to the queue at once.
      expect(await second.stop()).toBe(0);
      expect(await jobState(jobId)).toMatchObject({ state: 'queued' });

      const third = await start();
      await waitFor(
        'the replay job to wait once more',
        async () => (await jobState(jobId)).state === 'active',
      );
      const completed = await third.call('post', `/v1/dataplane/replays/${replayId}/progress`, {
        token: seeded.dataplane,
        body: { status: 'completed', replayed: 80, total: 80 },
      });
      expect(completed.status).toBe(204);
      const done = await jobWhere(
        third.call.bind(third),
        user,
        jobId,
        'completed',
        (j) => j.state === 'completed',
      );
      expect(done.result).toEqual({ replayId, status: 'completed', replayed: 80, total: 80 });
    } finally {
      await Promise.all(children.map((cp) => cp.kill()));
      await env.cleanup();
    }
  }, 120_000);
});
