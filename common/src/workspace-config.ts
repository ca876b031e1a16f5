import { z } from 'zod';
import { MESSAGE_TYPES } from './event.ts';

/**
 * The configuration a data plane runs on: everything of one tenant. The
 * control plane serves exactly this shape; a data plane may also read it from
 * a JSON file. Parsed once at the boundary, typed after that.
 */

const idSchema = z.string().min(1).max(128);

export const sourceSchema = z.object({
  id: idSchema,
  name: z.string().default(''),
  writeKey: z.string().min(8).max(256),
  enabled: z.boolean().default(true),
  /** Drop events whose messageId this source already saw within this many seconds (0 = off). */
  dedupWindowSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .default(0),
});

export const eventFilterSchema = z.object({
  /** Message types sent to the destination; defaults to what the destination supports. */
  messageTypes: z.array(z.enum(MESSAGE_TYPES)).optional(),
  /** When set, only `track` events with one of these names pass. */
  allowEvents: z.array(z.string()).optional(),
  /** `track` events with one of these names are dropped. */
  denyEvents: z.array(z.string()).optional(),
});

export const destinationSchema = z.object({
  id: idSchema,
  name: z.string().default(''),
  /** Catalog type, e.g. `webhook` or `amplitude`. */
  type: z.string().min(1),
  enabled: z.boolean().default(true),
  /** Type-specific settings, validated against the catalog's schema for `type`. */
  config: z.record(z.string(), z.unknown()).default({}),
  eventFilter: eventFilterSchema.default({}),
  /** Overrides of the destination type's delivery defaults. */
  delivery: z
    .object({
      concurrency: z.number().int().min(1).max(256).optional(),
      rateLimitPerSecond: z.number().positive().optional(),
      maxBatchSize: z.number().int().min(1).max(10_000).optional(),
      timeoutMs: z.number().int().min(100).max(300_000).optional(),
      retryWindowSeconds: z.number().int().min(0).optional(),
      minAttempts: z.number().int().min(1).optional(),
    })
    .default({}),
});

export const transformationSchema = z.object({
  id: idSchema,
  versionId: z.string().default('1'),
  name: z.string().default(''),
  language: z.literal('javascript').default('javascript'),
  code: z.string().max(512 * 1024),
});

export const connectionSchema = z.object({
  sourceId: idSchema,
  destinationId: idSchema,
  enabled: z.boolean().default(true),
  /** User transformation applied to this source's events before this destination. */
  transformationId: idSchema.optional(),
});

export const workspaceSchema = z.object({
  id: idSchema,
  name: z.string().default(''),
  sources: z.array(sourceSchema).default([]),
  destinations: z.array(destinationSchema).default([]),
  connections: z.array(connectionSchema).default([]),
  transformations: z.array(transformationSchema).default([]),
});

export const workspaceConfigSchema = z.object({
  tenantId: idSchema.default('local'),
  /** Opaque version of this config (the control plane's ETag); informative. */
  version: z.string().default(''),
  workspaces: z.array(workspaceSchema).default([]),
});

export type SourceConfig = z.infer<typeof sourceSchema>;
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type EventFilter = z.infer<typeof eventFilterSchema>;
export type TransformationConfig = z.infer<typeof transformationSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type WorkspaceConfigEntry = z.infer<typeof workspaceSchema>;
export type WorkspaceConfig = z.infer<typeof workspaceConfigSchema>;

/** Parses and cross-checks a config: every connection must name a source and destination of its workspace. */
export function parseWorkspaceConfig(raw: unknown): WorkspaceConfig {
  const config = workspaceConfigSchema.parse(raw);
  const writeKeys = new Set<string>();
  for (const ws of config.workspaces) {
    const sources = new Set(ws.sources.map((s) => s.id));
    const destinations = new Set(ws.destinations.map((d) => d.id));
    const transformations = new Set(ws.transformations.map((t) => t.id));
    for (const s of ws.sources) {
      if (writeKeys.has(s.writeKey)) throw new Error(`workspace ${ws.id}: source ${s.id} reuses a write key`);
      writeKeys.add(s.writeKey);
    }
    for (const c of ws.connections) {
      if (!sources.has(c.sourceId))
        throw new Error(`workspace ${ws.id}: connection names unknown source ${c.sourceId}`);
      if (!destinations.has(c.destinationId))
        throw new Error(`workspace ${ws.id}: connection names unknown destination ${c.destinationId}`);
      if (c.transformationId !== undefined && !transformations.has(c.transformationId))
        throw new Error(`workspace ${ws.id}: connection names unknown transformation ${c.transformationId}`);
    }
  }
  return config;
}
