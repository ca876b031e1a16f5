import { defineRoute, type RouteSpec } from '../http/route.ts';
import { fieldError } from '../http/field-error.ts';
import { findSource } from '../sources/source-repo.ts';
import { findDestination } from '../destinations/destination-repo.ts';
import { checkTransformationRef } from '../transformations/transformation-ref.ts';
import {
  changedFields,
  idParam,
  requireWorkspace,
  WORKSPACE_PATH,
  workspaceCall,
  workspaceParams,
} from '../workspaces/workspace-scope.ts';
import {
  deleteConnection,
  getConnection,
  insertConnection,
  listConnections,
  updateConnection,
  type ConnectionFields,
} from './connection-repo.ts';
import {
  connectionListResponse,
  connectionResponse,
  createConnectionBody,
  updateConnectionBody,
} from './connection-schemas.ts';

const connectionParams = workspaceParams.extend({ connectionId: idParam });
const error = (description: string) => ({ description });
const PATH = `${WORKSPACE_PATH}/connections`;

/** Connections from sources to destinations. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: PATH,
    summary: "List the workspace's connections",
    tag: 'connections',
    auth: 'user',
    role: 'viewer',
    params: workspaceParams,
    responses: {
      200: { description: 'the connections', schema: connectionListResponse },
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      await requireWorkspace(ctx.deps.db.pool, scope);
      return { body: { connections: await listConnections(ctx.deps.db.pool, scope) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: PATH,
    summary: 'Connect a source to a destination of the same workspace, optionally through a transformation',
    tag: 'connections',
    auth: 'user',
    role: 'member',
    params: workspaceParams,
    body: createConnectionBody,
    responses: {
      201: { description: 'the connection', schema: connectionResponse },
      400: error('invalid body, or a source, destination or transformation not in this workspace'),
      404: error('no such workspace'),
      409: error('the source is already connected to the destination'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const { sourceId, destinationId } = ctx.body;
      const created = await ctx.deps.db.tx(async (tx) => {
        await requireWorkspace(tx, call.scope, { lock: true });
        // Key-share locks: the source and destination cannot be deleted before this commits.
        if (!(await findSource(tx, call.scope, sourceId, 'share')))
          throw fieldError('body.sourceId', `no source "${sourceId}" in this workspace`);
        if (!(await findDestination(tx, call.scope, destinationId, 'share')))
          throw fieldError('body.destinationId', `no destination "${destinationId}" in this workspace`);
        const transformationId = ctx.body.transformationId ?? null;
        if (transformationId !== null) await checkTransformationRef(tx, call.scope, transformationId);
        const c = await insertConnection(tx, call.scope, {
          sourceId,
          destinationId,
          enabled: ctx.body.enabled ?? true,
          transformationId,
        });
        await call.audit(tx, {
          action: 'connection.create',
          objectType: 'connection',
          objectId: c.id,
          changes: {
            workspaceId: c.workspaceId,
            sourceId: c.sourceId,
            destinationId: c.destinationId,
            enabled: c.enabled,
            transformationId: c.transformationId,
          },
        });
        return c;
      });
      return { status: 201, body: created };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${PATH}/{connectionId}`,
    summary: 'Read a connection',
    tag: 'connections',
    auth: 'user',
    role: 'viewer',
    params: connectionParams,
    responses: {
      200: { description: 'the connection', schema: connectionResponse },
      404: error('no such connection'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return { body: await getConnection(ctx.deps.db.pool, scope, ctx.params.connectionId) };
    },
  }),

  defineRoute({
    method: 'patch',
    path: `${PATH}/{connectionId}`,
    summary: 'Enable or disable a connection, or set its transformation (null detaches it)',
    tag: 'connections',
    auth: 'user',
    role: 'member',
    params: connectionParams,
    body: updateConnectionBody,
    responses: {
      200: { description: 'the connection as it is now', schema: connectionResponse },
      400: error('invalid body, or a transformation not in this workspace'),
      404: error('no such connection'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const result = await ctx.deps.db.tx(async (tx) => {
        const before = await getConnection(tx, call.scope, ctx.params.connectionId, { lock: true });
        const next: ConnectionFields = {
          enabled: ctx.body.enabled ?? before.enabled,
          transformationId:
            ctx.body.transformationId === undefined ? before.transformationId : ctx.body.transformationId,
        };
        if (next.transformationId !== null && next.transformationId !== before.transformationId)
          await checkTransformationRef(tx, call.scope, next.transformationId);
        const changes = changedFields<ConnectionFields>(before, next, ['enabled', 'transformationId']);
        // Nothing to change: no write, so the data planes are not sent an identical config.
        if (Object.keys(changes).length === 0) return before;
        const after = await updateConnection(tx, call.scope, before.id, next);
        await call.audit(tx, {
          action: 'connection.update',
          objectType: 'connection',
          objectId: after.id,
          changes,
        });
        return after;
      });
      return { body: result };
    },
  }),

  defineRoute({
    method: 'delete',
    path: `${PATH}/{connectionId}`,
    summary: 'Delete a connection',
    tag: 'connections',
    auth: 'user',
    role: 'member',
    params: connectionParams,
    responses: { 204: { description: 'deleted' }, 404: error('no such connection') },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const c = await getConnection(tx, call.scope, ctx.params.connectionId, { lock: true });
        await deleteConnection(tx, call.scope, c.id);
        await call.audit(tx, {
          action: 'connection.delete',
          objectType: 'connection',
          objectId: c.id,
          changes: { sourceId: c.sourceId, destinationId: c.destinationId },
        });
      });
      return { status: 204 };
    },
  }),
];
