import { defineRoute, type RouteSpec } from '../http/route.ts';
import { connectionIdsOf } from '../connections/connection-repo.ts';
import {
  deleteSource,
  getSource,
  insertSource,
  listSources,
  rotateWriteKey,
  updateSource,
  type SourceFields,
} from './source-repo.ts';
import { createSourceBody, sourceListResponse, sourceResponse, updateSourceBody } from './source-schemas.ts';
import {
  changedFields,
  idParam,
  requireWorkspace,
  WORKSPACE_PATH,
  workspaceCall,
  workspaceParams,
} from '../workspaces/workspace-scope.ts';

const sourceParams = workspaceParams.extend({ sourceId: idParam });
const error = (description: string) => ({ description });
const EDITABLE = ['name', 'enabled', 'dedupWindowSeconds'] as const;

/** Sources of a workspace: write keys, enable/disable, key rotation. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: `${WORKSPACE_PATH}/sources`,
    summary: "List the workspace's sources",
    tag: 'sources',
    auth: 'user',
    role: 'viewer',
    params: workspaceParams,
    responses: {
      200: { description: 'the sources', schema: sourceListResponse },
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      await requireWorkspace(ctx.deps.db.pool, scope);
      return { body: { sources: await listSources(ctx.deps.db.pool, scope) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: `${WORKSPACE_PATH}/sources`,
    summary: 'Create a source with a new write key',
    tag: 'sources',
    auth: 'user',
    role: 'member',
    params: workspaceParams,
    body: createSourceBody,
    responses: {
      201: { description: 'the source, with its write key', schema: sourceResponse },
      400: error('invalid body'),
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const source = await ctx.deps.db.tx(async (tx) => {
        await requireWorkspace(tx, call.scope, { lock: true });
        const created = await insertSource(tx, call.scope, {
          name: ctx.body.name,
          enabled: ctx.body.enabled ?? true,
          dedupWindowSeconds: ctx.body.dedupWindowSeconds ?? 0,
        });
        await call.audit(tx, {
          action: 'source.create',
          objectType: 'source',
          objectId: created.id,
          changes: { workspaceId: created.workspaceId, ...pick(created) },
        });
        return created;
      });
      return { status: 201, body: source };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${WORKSPACE_PATH}/sources/{sourceId}`,
    summary: 'Read a source',
    tag: 'sources',
    auth: 'user',
    role: 'viewer',
    params: sourceParams,
    responses: { 200: { description: 'the source', schema: sourceResponse }, 404: error('no such source') },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return { body: await getSource(ctx.deps.db.pool, scope, ctx.params.sourceId) };
    },
  }),

  defineRoute({
    method: 'patch',
    path: `${WORKSPACE_PATH}/sources/{sourceId}`,
    summary: 'Change a source: rename, enable or disable, set its deduplication window',
    tag: 'sources',
    auth: 'user',
    role: 'member',
    params: sourceParams,
    body: updateSourceBody,
    responses: {
      200: { description: 'the source as it is now', schema: sourceResponse },
      400: error('invalid body'),
      404: error('no such source'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const source = await ctx.deps.db.tx(async (tx) => {
        const before = await getSource(tx, call.scope, ctx.params.sourceId, 'update');
        const next: SourceFields = {
          name: ctx.body.name ?? before.name,
          enabled: ctx.body.enabled ?? before.enabled,
          dedupWindowSeconds: ctx.body.dedupWindowSeconds ?? before.dedupWindowSeconds,
        };
        const changes = changedFields<SourceFields>(pick(before), next, EDITABLE);
        // Nothing to change: no write, so the data planes are not sent an identical config.
        if (Object.keys(changes).length === 0) return before;
        const after = await updateSource(tx, call.scope, before.id, next);
        await call.audit(tx, { action: 'source.update', objectType: 'source', objectId: after.id, changes });
        return after;
      });
      return { body: source };
    },
  }),

  defineRoute({
    method: 'post',
    path: `${WORKSPACE_PATH}/sources/{sourceId}/rotate-write-key`,
    summary: 'Replace the write key; the old one stops working as soon as the data plane has the new config',
    tag: 'sources',
    auth: 'user',
    role: 'member',
    params: sourceParams,
    responses: {
      200: { description: 'the source with its new write key', schema: sourceResponse },
      404: error('no such source'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const source = await ctx.deps.db.tx(async (tx) => {
        const rotated = await rotateWriteKey(tx, call.scope, ctx.params.sourceId);
        // The keys themselves stay out of the audit log: it only says a rotation happened.
        await call.audit(tx, {
          action: 'source.rotate_write_key',
          objectType: 'source',
          objectId: rotated.id,
        });
        return rotated;
      });
      return { body: source };
    },
  }),

  defineRoute({
    method: 'delete',
    path: `${WORKSPACE_PATH}/sources/{sourceId}`,
    summary: 'Delete a source and its connections',
    tag: 'sources',
    auth: 'user',
    role: 'member',
    params: sourceParams,
    responses: { 204: { description: 'deleted' }, 404: error('no such source') },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const source = await getSource(tx, call.scope, ctx.params.sourceId, 'update');
        const connections = await connectionIdsOf(tx, call.scope, { sourceId: source.id });
        await deleteSource(tx, call.scope, source.id);
        await call.audit(tx, {
          action: 'source.delete',
          objectType: 'source',
          objectId: source.id,
          changes: { name: source.name, connectionsRemoved: connections },
        });
      });
      return { status: 204 };
    },
  }),
];

/** The user-set fields of a source: what its audit entries show (never its write key). */
function pick(source: SourceFields): SourceFields {
  return { name: source.name, enabled: source.enabled, dedupWindowSeconds: source.dedupWindowSeconds };
}
