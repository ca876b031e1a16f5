import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { catalog, type CatalogEntry } from '@rudder/dataplane/destinations';
import { defineRoute, type RouteSpec } from '../http/route.ts';

const entrySchema = z.object({
  type: z.string(),
  displayName: z.string(),
  supportedMessageTypes: z.array(z.string()),
  delivery: z.object({
    maxBatchSize: z.number(),
    maxBatchBytes: z.number(),
    concurrency: z.number(),
    rateLimitPerSecond: z.number().optional(),
    timeoutMs: z.number(),
  }),
  configSchema: z.record(z.string(), z.unknown()),
});

// The catalog is code: built once, identical for every caller.
let entries: CatalogEntry[] | undefined;
const all = (): CatalogEntry[] => (entries ??= catalog());

/**
 * The destination catalog: every type the data plane can deliver to, with the
 * JSON Schema of its config, the message types it takes and its batching and
 * rate-limit defaults. These are the data plane's own definitions.
 */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/catalog/destinations',
    summary: 'Every destination type with its config schema and delivery defaults',
    tag: 'catalog',
    auth: 'none',
    responses: {
      200: { description: 'the catalog', schema: z.object({ destinations: z.array(entrySchema) }) },
    },
    handler: async () => ({ body: { destinations: all() } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/catalog/destinations/{type}',
    summary: 'One destination type',
    tag: 'catalog',
    auth: 'none',
    params: z.object({ type: z.string().min(1).max(64) }),
    responses: {
      200: { description: 'the type', schema: entrySchema },
      404: { description: 'unknown type' },
    },
    handler: async ({ params }) => {
      const entry = all().find((e) => e.type === params.type);
      if (!entry) throw new RudderError('not_found', `unknown destination type "${params.type}"`);
      return { body: entry };
    },
  }),
];
