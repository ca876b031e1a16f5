import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { tenantCall } from '../tenants/tenant-call.ts';
import {
  deleteWorkspace,
  getWorkspace,
  insertWorkspace,
  listWorkspaces,
  renameWorkspace,
  workspaceSchema,
} from './workspace-repo.ts';

const idParam = z.string().min(1).max(128);
const tenantParams = z.object({ tenantId: idParam });
const workspaceParams = tenantParams.extend({ workspaceId: idParam });
const workspaceBody = z.strictObject({ name: z.string().trim().min(1).max(100) });

/** Workspaces of a tenant: list, create, read, rename, delete (with everything in them). */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/workspaces',
    summary: "The tenant's workspaces, oldest first",
    tag: 'workspaces',
    auth: 'user',
    role: 'viewer',
    params: tenantParams,
    responses: {
      200: { description: 'workspaces', schema: z.object({ workspaces: z.array(workspaceSchema) }) },
    },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      return { body: { workspaces: await listWorkspaces(ctx.deps.db.pool, tenantId) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/workspaces',
    summary: 'Create a workspace',
    tag: 'workspaces',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    body: workspaceBody,
    responses: { 201: { description: 'the new workspace', schema: workspaceSchema } },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const created = await ctx.deps.db.tx(async (tx) => {
        const ws = await insertWorkspace(tx, call.tenantId, ctx.body.name);
        await call.audit(tx, {
          action: 'workspace.create',
          objectType: 'workspace',
          objectId: ws.id,
          changes: { name: ws.name },
        });
        return ws;
      });
      return { status: 201, body: created };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/workspaces/{workspaceId}',
    summary: 'One workspace',
    tag: 'workspaces',
    auth: 'user',
    role: 'viewer',
    params: workspaceParams,
    responses: {
      200: { description: 'the workspace', schema: workspaceSchema },
      404: { description: 'no such workspace in this tenant' },
    },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      return { body: await getWorkspace(ctx.deps.db.pool, tenantId, ctx.params.workspaceId) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/tenants/{tenantId}/workspaces/{workspaceId}',
    summary: 'Rename a workspace',
    tag: 'workspaces',
    auth: 'user',
    role: 'admin',
    params: workspaceParams,
    body: workspaceBody,
    responses: {
      200: { description: 'the renamed workspace', schema: workspaceSchema },
      404: { description: 'no such workspace in this tenant' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const renamed = await ctx.deps.db.tx(async (tx) => {
        const { before, after } = await renameWorkspace(
          tx,
          call.tenantId,
          ctx.params.workspaceId,
          ctx.body.name,
        );
        if (before.name !== after.name)
          await call.audit(tx, {
            action: 'workspace.update',
            objectType: 'workspace',
            objectId: after.id,
            changes: { name: { from: before.name, to: after.name } },
          });
        return after;
      });
      return { body: renamed };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}/workspaces/{workspaceId}',
    summary: 'Delete a workspace with its sources, destinations, connections and transformations',
    tag: 'workspaces',
    auth: 'user',
    role: 'admin',
    params: workspaceParams,
    responses: {
      204: { description: 'deleted' },
      404: { description: 'no such workspace in this tenant' },
      409: { description: "another workspace still uses one of this workspace's transformations" },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const deleted = await deleteWorkspace(tx, call.tenantId, ctx.params.workspaceId);
        await call.audit(tx, {
          action: 'workspace.delete',
          objectType: 'workspace',
          objectId: deleted.id,
          changes: { name: deleted.name },
        });
      });
      return { status: 204 };
    },
  }),
];
