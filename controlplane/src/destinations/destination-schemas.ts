import { z } from 'zod';
import { destinationSchema, eventFilterSchema } from '@rudder/common';
import { closedObject } from '../http/closed-object.ts';
import { idParam } from '../workspaces/workspace-scope.ts';

const name = z.string().trim().min(1).max(200);
/** Checked against the catalog by the handler, so the error can list the known types. */
const type = z.string().min(1).max(100).describe('A destination type of the catalog, e.g. webhook');
/** Checked against the type's schema by the handler; stored as written, defaults left to the data plane. */
const config = z
  .record(z.string(), z.unknown())
  .describe("Settings of the type, per the catalog's configSchema");
const deliveryShape = destinationSchema.shape.delivery.unwrap().shape;
const eventFilter = closedObject(eventFilterSchema.shape);
const delivery = closedObject(deliveryShape);

/** Body of `POST .../destinations`. */
export const createDestinationBody = closedObject({
  name,
  type,
  enabled: z.boolean().optional(),
  config,
  eventFilter: eventFilter.optional(),
  delivery: delivery.optional(),
  transformationId: idParam.optional(),
});

/**
 * Body of `PATCH .../destinations/{destinationId}`. A field given replaces
 * the stored one whole (`config` too); `transformationId: null` detaches.
 */
export const updateDestinationBody = closedObject({
  name: name.optional(),
  type: type.optional(),
  enabled: z.boolean().optional(),
  config: config.optional(),
  eventFilter: eventFilter.optional(),
  delivery: delivery.optional(),
  transformationId: idParam.nullable().optional(),
});

/** A destination as the API shows it. */
export const destinationResponse = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  type: z.string(),
  enabled: z.boolean(),
  config: z.record(z.string(), z.unknown()).describe('As written; the catalog fills in the defaults'),
  eventFilter: eventFilterSchema,
  delivery: z.object(deliveryShape),
  transformationId: z
    .string()
    .nullable()
    .describe('User transformation for connections to this destination that name none of their own'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const destinationListResponse = z.object({ destinations: z.array(destinationResponse) });

export type Destination = z.infer<typeof destinationResponse>;
