import { RudderError } from '@rudder/common';

/**
 * A 400 about one field of the request, shaped like the route validation's
 * errors (`message` starts with the field, `details.field` names it), for the
 * checks a schema cannot make: the catalog, the database, size limits.
 */
export function fieldError(
  field: string,
  message: string,
  details: Record<string, unknown> = {},
): RudderError {
  return new RudderError('invalid_request', `${field}: ${message}`, {
    details: { field, issues: [{ field, message }], ...details },
  });
}
