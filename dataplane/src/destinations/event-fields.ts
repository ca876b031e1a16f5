/**
 * Typed reads of the open parts of an event (`context`, `properties`,
 * `traits`). Clients send anything there, so every read checks the type and
 * treats a mismatch as absent rather than passing it on to a destination.
 */

/** A plain JSON object (not an array, not null). */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The value at a dotted path (`context.device.id`), or undefined. */
export function at(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    const record = asRecord(node);
    if (record === undefined || !Object.hasOwn(record, key)) return undefined;
    node = record[key];
  }
  return node;
}

/** A non-empty string at `path`; numbers are accepted and stringified (ids often arrive as numbers). */
export function stringAt(root: unknown, path: string): string | undefined {
  const value = at(root, path);
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A finite number at `path`; numeric strings are accepted (`"12.50"` is common for prices). */
export function numberAt(root: unknown, path: string): number | undefined {
  const value = at(root, path);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** A non-empty object at `path`. */
export function recordAt(root: unknown, path: string): Record<string, unknown> | undefined {
  const record = asRecord(at(root, path));
  return record !== undefined && Object.keys(record).length > 0 ? record : undefined;
}

/** Copies the entries whose value is not undefined, so optional fields stay out of the JSON. */
export function compact<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
