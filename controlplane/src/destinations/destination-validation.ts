import { RudderError } from '@rudder/common';
import { destinationTypes, parseDestinationConfig } from '@rudder/dataplane/destinations';
import { fieldError } from '../http/field-error.ts';

/** A 400 naming `field` unless `type` is a type of the catalog; the error lists the known types. */
export function checkDestinationType(type: string, field = 'body.type'): void {
  if (!destinationTypes.has(type))
    throw fieldError(field, `unknown destination type "${type}"`, { known: [...destinationTypes.keys()] });
}

/**
 * A 400 naming the bad field (`body.config.url`) unless `config` is valid
 * for `type` by the catalog's schema. Fields the schema does not know are
 * refused too: the schema would silently drop them, so a misspelt setting
 * (`batchng`) would be stored and never take effect.
 */
export function checkDestinationConfig(
  type: string,
  config: Record<string, unknown>,
  field = 'body.config',
): void {
  let parsed: unknown;
  try {
    parsed = parseDestinationConfig(type, config);
  } catch (err) {
    if (!(err instanceof RudderError)) throw err;
    const under = (f: unknown) => (f === undefined || f === '(config)' ? field : `${field}.${String(f)}`);
    const issues = (err.details?.['issues'] as { field: string; message: string }[] | undefined) ?? [];
    const first = issues[0] ?? { field: '(config)', message: err.message };
    throw fieldError(under(first.field), `${first.message} (${type} destination)`, {
      type,
      issues: issues.map((issue) => ({ field: under(issue.field), message: issue.message })),
    });
  }
  if (typeof parsed !== 'object' || parsed === null) return;
  for (const key of Object.keys(config)) {
    if (!Object.hasOwn(parsed, key))
      throw fieldError(`${field}.${key}`, `unknown field for ${type} destinations`, { type });
  }
}
