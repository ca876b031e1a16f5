import { z } from 'zod';

/**
 * An object schema that refuses unknown fields, one issue per field at that
 * field's path, so a 400 names `body.enabeld` rather than `body`. (zod's own
 * strict objects report every unknown key in a single issue at the object.)
 * The OpenAPI document shows it with `additionalProperties: false`.
 */
export function closedObject<T extends z.ZodRawShape>(shape: T) {
  const known = new Set(Object.keys(shape));
  return z
    .looseObject(shape)
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!known.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'unknown field' });
      }
    })
    .transform((value) => value as z.output<z.ZodObject<T>>)
    .meta({ additionalProperties: false });
}
