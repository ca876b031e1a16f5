import { isDeepStrictEqual } from 'node:util';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { connectionIdsOf } from '../connections/connection-repo.ts';
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
  deleteDestination,
  getDestination,
  insertDestination,
  listDestinations,
  updateDestination,
  type DestinationFields,
} from './destination-repo.ts';
import {
  createDestinationBody,
  destinationListResponse,
  destinationResponse,
  updateDestinationBody,
} from './destination-schemas.ts';
import { checkDestinationConfig, checkDestinationType } from './destination-validation.ts';

const destinationParams = workspaceParams.extend({ destinationId: idParam });
const error = (description: string) => ({ description });
const PATH = `${WORKSPACE_PATH}/destinations`;
/** What audit entries show by value; `config` is shown by key only, since it holds credentials. */
const PLAIN_FIELDS = ['name', 'type', 'enabled', 'eventFilter', 'delivery', 'transformationId'] as const;

/** Destinations of a workspace, validated against the catalog. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: PATH,
    summary: "List the workspace's destinations",
    tag: 'destinations',
    auth: 'user',
    role: 'viewer',
    params: workspaceParams,
    responses: {
      200: { description: 'the destinations', schema: destinationListResponse },
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      await requireWorkspace(ctx.deps.db.pool, scope);
      return { body: { destinations: await listDestinations(ctx.deps.db.pool, scope) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: PATH,
    summary: 'Create a destination of a catalog type',
    tag: 'destinations',
    auth: 'user',
    role: 'member',
    params: workspaceParams,
    body: createDestinationBody,
    responses: {
      201: { description: 'the destination', schema: destinationResponse },
      400: error('invalid body, unknown type, config refused by the catalog, unknown transformation'),
      404: error('no such workspace'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const fields: DestinationFields = {
        name: ctx.body.name,
        type: ctx.body.type,
        enabled: ctx.body.enabled ?? true,
        config: ctx.body.config,
        eventFilter: ctx.body.eventFilter ?? {},
        delivery: ctx.body.delivery ?? {},
        transformationId: ctx.body.transformationId ?? null,
      };
      checkDestinationType(fields.type);
      checkDestinationConfig(fields.type, fields.config);
      const created = await ctx.deps.db.tx(async (tx) => {
        await requireWorkspace(tx, call.scope, { lock: true });
        if (fields.transformationId !== null)
          await checkTransformationRef(tx, call.scope, fields.transformationId);
        const d = await insertDestination(tx, call.scope, fields);
        await call.audit(tx, {
          action: 'destination.create',
          objectType: 'destination',
          objectId: d.id,
          changes: {
            workspaceId: d.workspaceId,
            ...Object.fromEntries(PLAIN_FIELDS.map((key) => [key, d[key]])),
            configKeys: Object.keys(d.config).sort(),
          },
        });
        return d;
      });
      return { status: 201, body: created };
    },
  }),

  defineRoute({
    method: 'get',
    path: `${PATH}/{destinationId}`,
    summary: 'Read a destination',
    tag: 'destinations',
    auth: 'user',
    role: 'viewer',
    params: destinationParams,
    responses: {
      200: { description: 'the destination', schema: destinationResponse },
      404: error('no such destination'),
    },
    handler: async (ctx) => {
      const { scope } = workspaceCall(ctx);
      return { body: await getDestination(ctx.deps.db.pool, scope, ctx.params.destinationId) };
    },
  }),

  defineRoute({
    method: 'patch',
    path: `${PATH}/{destinationId}`,
    summary:
      'Change a destination; each field given replaces the stored one, and the result is validated as a whole',
    tag: 'destinations',
    auth: 'user',
    role: 'member',
    params: destinationParams,
    body: updateDestinationBody,
    responses: {
      200: { description: 'the destination as it is now', schema: destinationResponse },
      400: error('invalid body, unknown type, config refused by the catalog, unknown transformation'),
      404: error('no such destination'),
    },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      const patch = ctx.body;
      const result = await ctx.deps.db.tx(async (tx) => {
        const before = await getDestination(tx, call.scope, ctx.params.destinationId, 'update');
        const next: DestinationFields = {
          name: patch.name ?? before.name,
          type: patch.type ?? before.type,
          enabled: patch.enabled ?? before.enabled,
          config: patch.config ?? before.config,
          eventFilter: patch.eventFilter ?? before.eventFilter,
          delivery: patch.delivery ?? before.delivery,
          transformationId:
            patch.transformationId === undefined ? before.transformationId : patch.transformationId,
        };
        // The merged destination must hold together: a new type with the stored config, or the reverse.
        checkDestinationType(next.type);
        checkDestinationConfig(next.type, next.config);
        if (next.transformationId !== null && next.transformationId !== before.transformationId)
          await checkTransformationRef(tx, call.scope, next.transformationId);

        const changes: Record<string, unknown> = changedFields<DestinationFields>(before, next, PLAIN_FIELDS);
        const configKeys = changedKeys(before.config, next.config);
        if (configKeys.length > 0) changes['configKeysChanged'] = configKeys;
        // Nothing to change: no write, so the data planes are not sent an identical config.
        if (Object.keys(changes).length === 0) return before;
        const after = await updateDestination(tx, call.scope, before.id, next);
        await call.audit(tx, {
          action: 'destination.update',
          objectType: 'destination',
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
    path: `${PATH}/{destinationId}`,
    summary: 'Delete a destination and its connections',
    tag: 'destinations',
    auth: 'user',
    role: 'member',
    params: destinationParams,
    responses: { 204: { description: 'deleted' }, 404: error('no such destination') },
    handler: async (ctx) => {
      const call = workspaceCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const d = await getDestination(tx, call.scope, ctx.params.destinationId, 'update');
        const connections = await connectionIdsOf(tx, call.scope, { destinationId: d.id });
        await deleteDestination(tx, call.scope, d.id);
        await call.audit(tx, {
          action: 'destination.delete',
          objectType: 'destination',
          objectId: d.id,
          changes: { name: d.name, type: d.type, connectionsRemoved: connections },
        });
      });
      return { status: 204 };
    },
  }),
];

/** Keys added, removed or changed between two configs, sorted. */
function changedKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => !isDeepStrictEqual(before[key], after[key])).sort();
}
