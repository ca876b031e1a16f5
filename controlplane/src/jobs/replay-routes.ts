import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf } from '../auth/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import { insertJob } from './job-repo.ts';
import { enqueueOrDefer } from './job-recovery.ts';
import type { QueuedJob } from './queues.ts';
import {
  getReplay,
  insertReplay,
  listReplays,
  REPLAY_STATUSES,
  replaySchema,
  transitionReplay,
} from './replay-repo.ts';

const timestamp = z.iso.datetime({ offset: true });

const createReplayBody = z
  .object({
    workspaceId: z.string().min(1),
    sourceId: z.string().min(1),
    destinationId: z.string().min(1),
    from: timestamp,
    to: timestamp,
  })
  .superRefine((b, ctx) => {
    const from = Date.parse(b.from);
    const to = Date.parse(b.to);
    if (!(from < to)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    // Events after now cannot have been stored yet; a replay of them would silently miss some.
    else if (to > Date.now())
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be in the future' });
  });

const tenantParams = z.object({ tenantId: z.string() });
const replayParams = z.object({ tenantId: z.string(), replayId: z.string().min(1).max(100) });

function badField(field: string, message: string): RudderError {
  return new RudderError('invalid_request', `${field}: ${message}`, { details: { field } });
}

/** 400 unless the workspace, source and destination all belong to the tenant, the objects to the workspace. */
async function checkReplayObjects(
  q: Queryable,
  tenantId: string,
  body: { workspaceId: string; sourceId: string; destinationId: string },
): Promise<void> {
  const r = await q.query<{ workspace: boolean; source: boolean; destination: boolean }>(
    `SELECT
       EXISTS (SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2) AS workspace,
       EXISTS (SELECT 1 FROM sources WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3) AS source,
       EXISTS (SELECT 1 FROM destinations WHERE tenant_id = $1 AND workspace_id = $2 AND id = $4) AS destination`,
    [tenantId, body.workspaceId, body.sourceId, body.destinationId],
  );
  const found = r.rows[0]!;
  if (!found.workspace) throw badField('body.workspaceId', 'no such workspace in this tenant');
  if (!found.source) throw badField('body.sourceId', 'no such source in this workspace');
  if (!found.destination) throw badField('body.destinationId', 'no such destination in this workspace');
}

/** Event replays: request, read, cancel. The tenant's data plane runs them. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/replays',
    summary: "Replay a source's stored events of a time range to a destination",
    tag: 'replays',
    auth: 'user',
    role: 'member',
    params: tenantParams,
    body: createReplayBody,
    responses: {
      202: {
        description: 'the replay is requested; its job follows it',
        schema: z.object({ jobId: z.string(), replayId: z.string() }),
      },
      400: { description: 'a bad field, named in the message and details.field' },
    },
    handler: async ({ body, access, principal, deps, log, res }) => {
      const tenantId = access!.tenantId;
      const job: QueuedJob = {
        kind: 'replay',
        data: { jobId: newId.job(), tenantId, replayId: newId.replay() },
      };
      await deps.db.tx(async (tx) => {
        await checkReplayObjects(tx, tenantId, body);
        await insertJob(tx, {
          id: job.data.jobId,
          kind: 'replay',
          tenantId,
          requestedBy: actorOf(principal!).id,
          data: job.data,
        });
        await insertReplay(tx, {
          id: job.data.replayId,
          tenantId,
          workspaceId: body.workspaceId,
          jobId: job.data.jobId,
          sourceId: body.sourceId,
          destinationId: body.destinationId,
          from: new Date(body.from),
          to: new Date(body.to),
        });
        await recordAudit(tx, principal!, {
          tenantId,
          action: 'replay.create',
          objectType: 'replay',
          objectId: job.data.replayId,
          changes: { ...body },
          requestId: res.locals['requestId'] as string,
        });
      });
      await enqueueOrDefer(deps.queues, job, log);
      return {
        status: 202,
        headers: { location: `/v1/jobs/${job.data.jobId}` },
        body: { jobId: job.data.jobId, replayId: job.data.replayId },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/replays',
    summary: "The tenant's replays, newest first",
    tag: 'replays',
    auth: 'user',
    role: 'viewer',
    params: tenantParams,
    query: z.object({
      status: z.enum(REPLAY_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    responses: { 200: { description: 'the replays', schema: z.object({ replays: z.array(replaySchema) }) } },
    handler: async ({ query, access, deps }) => ({
      body: { replays: await listReplays(deps.db.pool, access!.tenantId, query) },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/replays/{replayId}',
    summary: 'A replay and its progress',
    tag: 'replays',
    auth: 'user',
    role: 'viewer',
    params: replayParams,
    responses: {
      200: { description: 'the replay', schema: replaySchema },
      404: { description: 'no such replay' },
    },
    handler: async ({ params, access, deps }) => {
      const replay = await getReplay(deps.db.pool, access!.tenantId, params.replayId);
      if (!replay) throw new RudderError('not_found', 'replay not found');
      return { body: replay };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/replays/{replayId}/cancel',
    summary: 'Cancel a replay that has not finished; the data plane stops at its next report',
    tag: 'replays',
    auth: 'user',
    role: 'member',
    params: replayParams,
    responses: {
      200: { description: 'the cancelled replay', schema: replaySchema },
      404: { description: 'no such replay' },
      409: { description: 'the replay has already finished' },
    },
    handler: async ({ params, access, principal, deps, res }) => {
      const tenantId = access!.tenantId;
      const replay = await deps.db.tx(async (tx) => {
        const cancelled = await transitionReplay(tx, tenantId, params.replayId, { status: 'cancelled' });
        await recordAudit(tx, principal!, {
          tenantId,
          action: 'replay.cancel',
          objectType: 'replay',
          objectId: params.replayId,
          requestId: res.locals['requestId'] as string,
        });
        return cancelled;
      });
      return { body: replay };
    },
  }),
];
