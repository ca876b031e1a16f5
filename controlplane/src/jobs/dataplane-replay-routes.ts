import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import type { Principal } from '../auth/principal.ts';
import { listOpenReplays, transitionReplay } from './replay-repo.ts';

/** How many open replays one listing returns; a data plane works through them oldest first. */
const LIST_LIMIT = 100;
/** Longest error message kept for a failed replay. */
const MAX_ERROR_CHARS = 2000;

const dataplaneReplaySchema = z.object({
  id: z.string(),
  workspaceId: z.string().nullable(),
  sourceId: z.string(),
  destinationId: z.string(),
  from: z.string(),
  to: z.string(),
  status: z.enum(['requested', 'running']),
});

const progressBody = z.object({
  status: z.enum(['running', 'completed', 'failed']),
  replayed: z.number().int().min(0),
  total: z.number().int().min(0).optional(),
  // Any length: a data plane must not be stuck re-sending a report refused for a long message.
  error: z.string().optional(),
});

/** The tenant a data-plane token belongs to (the framework only lets data-plane tokens in). */
function tenantOf(principal: Principal | undefined): string {
  if (principal?.kind !== 'dataplane')
    throw new RudderError('unauthorized', 'a data-plane token is required');
  return principal.tenantId;
}

/** What a data plane's replay agent calls: the replays to run, and its progress on one. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/dataplane/replays',
    summary: "The replays the calling data plane's tenant has requested or is running, oldest first",
    tag: 'dataplane',
    auth: 'dataplane',
    responses: {
      200: { description: 'the open replays', schema: z.object({ replays: z.array(dataplaneReplaySchema) }) },
    },
    handler: async ({ principal, deps }) => {
      const replays = await listOpenReplays(deps.db.pool, tenantOf(principal), LIST_LIMIT);
      return {
        body: {
          replays: replays.map((r) => ({
            id: r.id,
            workspaceId: r.workspaceId,
            sourceId: r.sourceId,
            destinationId: r.destinationId,
            from: r.from,
            to: r.to,
            status: r.status,
          })),
        },
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/dataplane/replays/{replayId}/progress',
    summary: 'Report progress on a replay: running with counts, then completed or failed',
    tag: 'dataplane',
    auth: 'dataplane',
    params: z.object({ replayId: z.string().min(1).max(100) }),
    body: progressBody,
    responses: {
      204: { description: 'recorded' },
      404: { description: "no such replay for this data plane's tenant" },
      409: { description: 'the replay was cancelled or has already finished: stop working on it' },
    },
    handler: async ({ params, body, principal, deps }) => {
      await transitionReplay(deps.db.pool, tenantOf(principal), params.replayId, {
        status: body.status,
        replayed: body.replayed,
        total: body.total,
        error:
          body.status === 'failed'
            ? (body.error ?? 'the data plane reported a failure').slice(0, MAX_ERROR_CHARS)
            : undefined,
      });
      return { status: 204 };
    },
  }),
];
