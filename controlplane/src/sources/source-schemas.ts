import { z } from 'zod';
import { sourceSchema } from '@rudder/common';
import { closedObject } from '../http/closed-object.ts';

const name = z.string().trim().min(1).max(200);
/** The data plane's own bounds (whole seconds, at most a week; 0 turns deduplication off). */
const dedupWindowSeconds = sourceSchema.shape.dedupWindowSeconds.unwrap();

/** Body of `POST .../sources`. */
export const createSourceBody = closedObject({
  name,
  enabled: z.boolean().optional(),
  dedupWindowSeconds: dedupWindowSeconds.optional(),
});

/** Body of `PATCH .../sources/{sourceId}`: the fields to change. */
export const updateSourceBody = closedObject({
  name: name.optional(),
  enabled: z.boolean().optional(),
  dedupWindowSeconds: dedupWindowSeconds.optional(),
});

/** A source as the API shows it. */
export const sourceResponse = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  writeKey: z.string().describe('What SDKs send as the HTTP Basic username'),
  enabled: z.boolean().describe('A disabled source refuses events'),
  dedupWindowSeconds: z
    .number()
    .int()
    .describe('Events whose messageId the source saw within this many seconds are dropped; 0 is off'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const sourceListResponse = z.object({ sources: z.array(sourceResponse) });

export type Source = z.infer<typeof sourceResponse>;
