import { z } from 'zod';
import { closedObject } from '../http/closed-object.ts';

const name = z.string().trim().min(1).max(200);
/** Size and syntax are checked by the handler: the limit is configuration, the parse needs V8. */
const code = z
  .string()
  .describe('JavaScript declaring transformEvent(event, metadata) or transformBatch(events, metadata)');

/** Body of `POST .../transformations`. */
export const createTransformationBody = closedObject({
  name,
  code,
  language: z.literal('javascript').optional(),
});

/** Body of `PATCH .../transformations/{transformationId}`; new code becomes a new current version. */
export const updateTransformationBody = closedObject({
  name: name.optional(),
  code: code.optional(),
});

const summaryShape = {
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  language: z.literal('javascript'),
  currentVersion: z.number().int().describe('The version data planes run'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
};

/** A transformation in a list: without its code. */
export const transformationSummaryResponse = z.object(summaryShape);

/** A transformation with the code of its current version. */
export const transformationResponse = z.object({ ...summaryShape, code: z.string() });

export const transformationListResponse = z.object({
  transformations: z.array(transformationSummaryResponse),
});

const versionShape = {
  version: z.number().int(),
  /** Who saved it: a user id or an API token id. */
  createdBy: z.string().nullable(),
  createdAt: z.iso.datetime(),
};

/** One saved version, without its code. */
export const transformationVersionSummaryResponse = z.object(versionShape);

/** One saved version with its code. */
export const transformationVersionResponse = z.object({ ...versionShape, code: z.string() });

export const transformationVersionListResponse = z.object({
  versions: z.array(transformationVersionSummaryResponse),
});

export type TransformationSummary = z.infer<typeof transformationSummaryResponse>;
export type Transformation = z.infer<typeof transformationResponse>;
export type TransformationVersionSummary = z.infer<typeof transformationVersionSummaryResponse>;
export type TransformationVersion = z.infer<typeof transformationVersionResponse>;
