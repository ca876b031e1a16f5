import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { isForeignKeyViolation } from '../db/db.ts';
import { actorOf } from '../auth/principal.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import {
  idParam,
  requireWorkspace,
  WORKSPACE_PATH,
  workspaceCall,
  workspaceParams,
} from '../workspaces/workspace-scope.ts';
import { checkTransformationCode } from './transformation-code.ts';
import {
  deleteTransformation,
  getTransformation,
  getVersion,
  insertTransformation,
  listTransformations,
  listVersions,
  transformationUsers,
  updateTransformation,
} from './transformation-repo.ts';
import {
  createTransformationBody,
  transformationListResponse,
  transformationResponse,
  transformationVersionListResponse,
  transformationVersionResponse,
  updateTransformationBody,
} from './transformation-schemas.ts';

const transformationParams = workspaceParams.extend({ transformationId: idParam });
const versionParams = transformationParams.extend({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
});
const error = (description: string) => ({ description });
const PATH = `${WORKSPACE_PATH}/transformations`;

/** Transformations and their versions. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: PATH,
    summary: "List the workspace's transformations (without code)",
    tag: 'transformations',
    auth: 'user',
    role: 'viewer',
    params: workspaceParams,
    responses: {
      200: { description: 'the transformations', schema: transformationListResponse },
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      await requireWorkspace(ctx.deps.db.pool, scope);
      return { body: { transformations: await listTransformations(ctx.deps.db.pool, scope) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: PATH,
    summary: 'Create a transformation; its code becomes version 1',
    tag: 'transformations',
    auth: 'user',
    role: 'member',
    params: workspaceParams,
    body: createTransformationBody,
    responses: {
      201: { description: 'the transformation', schema: transformationResponse },
      400: error('invalid body, code too large, not valid JavaScript or without an entry point'),
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      checkTransformationCode(ctx.body.code, ctx.deps.config.limits.maxTransformationBytes);
      const created = await ctx.deps.db.tx(async (tx) => {
        await requireWorkspace(tx, call.scope, { lock: true });
        const t = await insertTransformation(tx, call.scope, {
          name: ctx.body.name,
          code: ctx.body.code,
          createdBy: actorOf(call.principal).id,
        });
        await call.audit(tx, {
          action: 'transformation.create',
          objectType: 'transformation',
          objectId: t.id,
          // The code itself stays out: it can be large and may hold credentials of the APIs it calls.
          changes: {
            workspaceId: t.workspaceId,
            name: t.name,
            version: t.currentVersion,
            codeBytes: Buffer.byteLength(t.code),
          },
        });
        return t;
      });
      return { status: 201, body: created };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${PATH}/{transformationId}`,
    summary: 'Read a transformation with the code of its current version',
    tag: 'transformations',
    auth: 'user',
    role: 'viewer',
    params: transformationParams,
    responses: {
      200: { description: 'the transformation', schema: transformationResponse },
      404: error('no such transformation'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return { body: await getTransformation(ctx.deps.db.pool, scope, ctx.params.transformationId) };
    },
  }),

  defineRoute({
    method: 'patch',
    path: `${PATH}/{transformationId}`,
    summary: 'Rename a transformation or save new code as its next, current version',
    tag: 'transformations',
    auth: 'user',
    role: 'member',
    params: transformationParams,
    body: updateTransformationBody,
    responses: {
      200: { description: 'the transformation as it is now', schema: transformationResponse },
      400: error('invalid body, code too large, not valid JavaScript or without an entry point'),
      404: error('no such transformation'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      if (ctx.body.code !== undefined)
        checkTransformationCode(ctx.body.code, ctx.deps.config.limits.maxTransformationBytes);
      const result = await ctx.deps.db.tx(async (tx) => {
        const before = await getTransformation(tx, call.scope, ctx.params.transformationId, 'update');
        const name = ctx.body.name ?? before.name;
        // Saving the current code again is not a new version.
        const code = ctx.body.code !== undefined && ctx.body.code !== before.code ? ctx.body.code : undefined;
        if (name === before.name && code === undefined) return before;
        const after = await updateTransformation(tx, call.scope, before.id, {
          name,
          code,
          createdBy: actorOf(call.principal).id,
        });
        await call.audit(tx, {
          action: 'transformation.update',
          objectType: 'transformation',
          objectId: after.id,
          changes: {
            ...(name === before.name ? {} : { name: { from: before.name, to: name } }),
            ...(code === undefined
              ? {}
              : {
                  version: { from: before.currentVersion, to: after.currentVersion },
                  codeBytes: Buffer.byteLength(code),
                }),
          },
        });
        return after;
      });
      return { body: result };
    },
  }),

  defineRoute({
    method: 'delete',
    path: `${PATH}/{transformationId}`,
    summary: 'Delete a transformation and its versions; refused while a destination or connection uses it',
    tag: 'transformations',
    auth: 'user',
    role: 'member',
    params: transformationParams,
    responses: {
      204: { description: 'deleted' },
      404: error('no such transformation'),
      409: error('in use; details list the destinationIds and connectionIds using it'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const t = await getTransformation(tx, call.scope, ctx.params.transformationId, 'update');
        const users = await transformationUsers(tx, call.tenantId, t.id);
        if (users.destinationIds.length > 0 || users.connectionIds.length > 0) throw inUse(users);
        try {
          await deleteTransformation(tx, call.scope, t.id);
        } catch (err) {
          // Attached by a transaction that committed after our check.
          if (isForeignKeyViolation(err)) throw inUse(users);
          throw err;
        }
        await call.audit(tx, {
          action: 'transformation.delete',
          objectType: 'transformation',
          objectId: t.id,
          changes: { name: t.name, currentVersion: t.currentVersion },
        });
      });
      return { status: 204 };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${PATH}/{transformationId}/versions`,
    summary: "List a transformation's versions, newest first (without code)",
    tag: 'transformations',
    auth: 'user',
    role: 'viewer',
    params: transformationParams,
    responses: {
      200: { description: 'the versions', schema: transformationVersionListResponse },
      404: error('no such transformation'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return { body: { versions: await listVersions(ctx.deps.db.pool, scope, ctx.params.transformationId) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${PATH}/{transformationId}/versions/{version}`,
    summary: 'Read one version of a transformation with its code',
    tag: 'transformations',
    auth: 'user',
    role: 'viewer',
    params: versionParams,
    responses: {
      200: { description: 'the version', schema: transformationVersionResponse },
      404: error('no such transformation or version'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return {
        body: await getVersion(ctx.deps.db.pool, scope, ctx.params.transformationId, ctx.params.version),
      };
    },
  }),
];

function inUse(users: { destinationIds: string[]; connectionIds: string[] }): RudderError {
  return new RudderError('conflict', 'the transformation is in use; detach it from these first', {
    details: users,
  });
}
