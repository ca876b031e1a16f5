import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { getDestinationType } from '@rudder/dataplane/destinations';
import { defineRoute, type RouteSpec } from '../http/route.ts';

const destinationSchema = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  config: z.record(z.string(), z.unknown()),
  destinationDefinitionId: z.string(),
  destinationDefinition: z.object({ name: z.string(), displayName: z.string() }),
  updatedAt: z.string(),
  deleted: z.boolean(),
  shouldApplyDeviceModeTransformation: z.boolean(),
  propagateEventsUntransformedOnError: z.boolean(),
});

const sourceConfigSchema = z.object({
  isHosted: z.boolean(),
  source: z.object({
    id: z.string(),
    name: z.string(),
    writeKey: z.string(),
    enabled: z.boolean(),
    workspaceId: z.string(),
    updatedAt: z.string(),
    config: z.object({
      statsCollection: z.object({
        errors: z.object({ enabled: z.boolean() }),
        metrics: z.object({ enabled: z.boolean() }),
      }),
    }),
    destinations: z.array(destinationSchema),
  }),
});

interface Row {
  id: string;
  name: string;
  write_key: string;
  enabled: boolean;
  workspace_id: string;
  updated_at: Date;
  destinations: { id: string; name: string; type: string; enabled: boolean; updated_at: string }[];
}

/**
 * `GET /sourceConfig` in the shape the RudderStack browser and mobile SDKs
 * load at start: the source and its connected destinations. Every destination
 * here is delivered server-side (cloud mode), so its config is left out:
 * API keys must never reach a browser.
 */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/sourceConfig',
    summary: 'Source config for browser and mobile SDKs (write key as Basic username or ?writeKey=)',
    tag: 'sdk',
    auth: 'none',
    query: z.object({ writeKey: z.string().min(1).max(256).optional() }).loose(),
    responses: {
      200: { description: 'the source and its destinations', schema: sourceConfigSchema },
      401: { description: 'missing or unknown write key' },
    },
    handler: async ({ query, req, deps }) => {
      const writeKey = query.writeKey ?? basicUsername(req.get('authorization'));
      if (!writeKey)
        throw new RudderError('unauthorized', 'write key required (Basic username or ?writeKey=)');
      const r = await deps.db.pool.query<Row>(
        `SELECT s.id, s.name, s.write_key, s.enabled, s.workspace_id, s.updated_at,
                coalesce(json_agg(json_build_object('id', d.id, 'name', d.name, 'type', d.type,
                  'enabled', d.enabled AND c.enabled, 'updated_at', d.updated_at) ORDER BY d.created_at)
                  FILTER (WHERE d.id IS NOT NULL), '[]') AS destinations
         FROM sources s
         LEFT JOIN connections c ON c.tenant_id = s.tenant_id AND c.source_id = s.id
         LEFT JOIN destinations d ON d.tenant_id = c.tenant_id AND d.id = c.destination_id
         WHERE s.write_key = $1
         GROUP BY s.tenant_id, s.id`,
        [writeKey],
      );
      const row = r.rows[0];
      if (!row) throw new RudderError('unauthorized', 'unknown write key');
      return {
        headers: { 'cache-control': 'private, max-age=60' },
        body: {
          isHosted: false,
          source: {
            id: row.id,
            name: row.name,
            writeKey: row.write_key,
            enabled: row.enabled,
            workspaceId: row.workspace_id,
            updatedAt: row.updated_at.toISOString(),
            config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
            destinations: row.destinations.map((d) => ({
              id: d.id,
              name: d.name,
              enabled: d.enabled,
              config: {},
              destinationDefinitionId: d.type,
              destinationDefinition: { name: d.type.toUpperCase(), displayName: displayNameOf(d.type) },
              updatedAt: new Date(d.updated_at).toISOString(),
              deleted: false,
              shouldApplyDeviceModeTransformation: false,
              propagateEventsUntransformedOnError: false,
            })),
          },
        },
      };
    },
  }),
];

function basicUsername(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user ? user : undefined;
}

function displayNameOf(type: string): string {
  try {
    return getDestinationType(type).displayName;
  } catch {
    return type;
  }
}
