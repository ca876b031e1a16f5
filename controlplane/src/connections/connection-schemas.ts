import { z } from 'zod';
import { closedObject } from '../http/closed-object.ts';
import { idParam } from '../workspaces/workspace-scope.ts';

/** Body of `POST .../connections`. */
export const createConnectionBody = closedObject({
  sourceId: idParam,
  destinationId: idParam,
  enabled: z.boolean().optional(),
  transformationId: idParam.optional(),
});

/** Body of `PATCH .../connections/{connectionId}`; `transformationId: null` detaches the transformation. */
export const updateConnectionBody = closedObject({
  enabled: z.boolean().optional(),
  transformationId: idParam.nullable().optional(),
});

/** A connection as the API shows it: events of the source flow to the destination. */
export const connectionResponse = z.object({
  id: z.string(),
  workspaceId: z.string(),
  sourceId: z.string(),
  destinationId: z.string(),
  enabled: z.boolean(),
  transformationId: z
    .string()
    .nullable()
    .describe("User transformation run on this connection's events; null uses the destination's, if any"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const connectionListResponse = z.object({ connections: z.array(connectionResponse) });

export type Connection = z.infer<typeof connectionResponse>;
