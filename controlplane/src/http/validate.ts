import type { z } from 'zod';
import { RudderError } from '@rudder/common';

/**
 * Parses one part of a request; a failure is a 400 whose message names the
 * first bad field (`body.config.url: ...`) and whose details list them all.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = issues[0] ?? { field: where, message: 'invalid' };
  throw new RudderError('invalid_request', `${first.field}: ${first.message}`, {
    details: { field: first.field, issues },
  });
}
