import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RouteSpec } from '../../src/http/route.ts';
import type { IdKind } from './tenant-fixtures.ts';

/**
 * Requests made from the route table, so that tests of isolation and roles
 * cover every route, including those added later: path parameters filled with
 * a chosen tenant's ids, and plausible valid bodies and queries.
 */

/** `GET /v1/tenants/{tenantId}`: how tests name a route. */
export function routeName(route: RouteSpec): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}

/** A path parameter: an object id of some kind, or a value that names no tenant's object. */
export type PathParam = { name: string; kind: IdKind } | { name: string; literal: string };

/** The collection a path segment names, for parameters whose name alone is ambiguous (`{tokenId}`). */
const COLLECTION_KINDS: Record<string, IdKind> = {
  tenants: 'tenant',
  workspaces: 'workspace',
  sources: 'source',
  destinations: 'destination',
  connections: 'connection',
  transformations: 'transformation',
  'api-tokens': 'apiToken',
  'dataplane-tokens': 'dataplaneToken',
  members: 'user',
  users: 'user',
  jobs: 'job',
  replays: 'replay',
};

const PARAM_KINDS: Record<string, IdKind> = {
  tenantId: 'tenant',
  workspaceId: 'workspace',
  sourceId: 'source',
  destinationId: 'destination',
  connectionId: 'connection',
  transformationId: 'transformation',
  userId: 'user',
  jobId: 'job',
  replayId: 'replay',
};

/** Parameters that name no tenant's object: the same value serves every caller. */
const LITERAL_PARAMS: Record<string, string> = {
  type: 'webhook',
  version: '1',
};

/**
 * What each `{param}` of a path names. Throws for a parameter it does not know,
 * so that a new route cannot slip past the tests that rely on this.
 */
export function pathParams(path: string): PathParam[] {
  const segments = path.split('/');
  return segments.flatMap((segment, i): PathParam[] => {
    const m = /^\{(\w+)\}$/.exec(segment);
    if (!m) return [];
    const name = m[1]!;
    const literal = LITERAL_PARAMS[name];
    if (literal !== undefined) return [{ name, literal }];
    const kind = COLLECTION_KINDS[segments[i - 1] ?? ''] ?? PARAM_KINDS[name];
    if (kind === undefined)
      throw new Error(
        `${path}: no rule to fill {${name}}; teach controlplane/test/support/route-requests.ts what it names`,
      );
    return [{ name, kind }];
  });
}

/** The path with each parameter replaced by `valueOf(param)`. */
export function fillPath(path: string, valueOf: (param: PathParam) => string): string {
  const params = new Map(pathParams(path).map((p) => [p.name, p]));
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(valueOf(params.get(name)!)));
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  minLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
};

const unique = (): string => randomBytes(4).toString('hex');

/** Values for fields by name, where the schema alone would not give a plausible one. */
function hintFor(key: string, idOf: (kind: IdKind) => string): unknown {
  const kind = PARAM_KINDS[key];
  if (kind !== undefined && kind !== 'tenant') return idOf(kind);
  switch (key) {
    case 'name':
      return `Probe ${unique()}`;
    case 'email':
      return `probe-${unique()}@example.test`;
    case 'password':
      return 'correct horse battery staple';
    case 'url':
      return 'https://example.com/hook';
    case 'type':
      return 'webhook';
    case 'config':
      return { url: 'https://example.com/hook' };
    case 'code':
      return 'function transformEvent(event, metadata) { return event; }';
    case 'role':
      return 'viewer';
    case 'from':
    case 'fromTs':
    case 'start':
      return new Date(Date.now() - 3_600_000).toISOString();
    case 'to':
    case 'toTs':
    case 'end':
      return new Date().toISOString();
    default:
      return undefined;
  }
}

function sample(schema: JsonSchema, key: string, idOf: (kind: IdKind) => string): unknown {
  if (schema.const !== undefined) return schema.const;
  const hint = hintFor(key, idOf);
  if (schema.enum) return schema.enum.includes(hint) ? hint : schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (options) {
    const chosen = options.find((o) => o.type !== 'null') ?? options[0]!;
    return sample(chosen, key, idOf);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (
    hint !== undefined &&
    (type === undefined || typeof hint === type || (type === 'object' && typeof hint === 'object'))
  )
    return hint;
  switch (type) {
    case 'object': {
      // Required fields, and optional ones that name objects: those are where another tenant's ids get in.
      const names = Object.keys(schema.properties ?? {}).filter(
        (name) => schema.required?.includes(name) || (PARAM_KINDS[name] ?? 'tenant') !== 'tenant',
      );
      const out: Record<string, unknown> = {};
      for (const name of new Set([...(schema.required ?? []), ...names]))
        out[name] = sample(schema.properties?.[name] ?? {}, name, idOf);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}, key, idOf));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum === undefined ? 1 : schema.exclusiveMinimum + 1);
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'email') return `probe-${unique()}@example.test`;
      if (schema.format === 'uri') return 'https://example.com/hook';
      if (schema.format === 'date-time') return new Date().toISOString();
      return 'probe'.padEnd(schema.minLength ?? 0, 'x');
    default:
      return 'probe';
  }
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/**
 * Bodies the schema-driven sampler cannot guess, by route name. A route whose
 * body the sampler gets wrong fails the tests with a message pointing here.
 */
const BODIES: Record<string, (idOf: (kind: IdKind) => string) => unknown> = {};

/**
 * A body for `route` that its schema accepts, naming objects by `idOf`, or
 * undefined for a route without a body.
 */
export function sampleBody(route: RouteSpec, idOf: (kind: IdKind) => string): unknown {
  if (!route.body) return undefined;
  const known = BODIES[routeName(route)];
  const body = known ? known(idOf) : sample(jsonSchemaOf(route.body), '', idOf);
  const parsed = route.body.safeParse(body);
  if (!parsed.success)
    throw new Error(
      `${routeName(route)}: the sampled body ${JSON.stringify(body)} is invalid (${parsed.error.message}); ` +
        'add one to BODIES in controlplane/test/support/route-requests.ts',
    );
  return body;
}

/** The query string (with `?`) of a route's required query parameters, or ''. */
export function sampleQuery(route: RouteSpec, idOf: (kind: IdKind) => string): string {
  if (!route.query) return '';
  const query = sample(jsonSchemaOf(route.query), '', idOf) as Record<string, unknown>;
  const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  return search.size === 0 ? '' : `?${search.toString()}`;
}

/** Where in `value` any of `ids` occurs: `body.sourceId`, `body.steps.0.destinationId`. */
export function idFields(value: unknown, ids: ReadonlySet<string>, at = 'body'): string[] {
  if (typeof value === 'string') return ids.has(value) ? [at] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => idFields(v, ids, `${at}.${k}`));
}

export interface Answer {
  status: number;
  /** The parsed JSON body, or the raw text. */
  body: any;
  text: string;
}

/**
 * Calls the API with a deadline, so that a route that streams or holds the
 * request (a long-poll) fails the test with its name instead of hanging it.
 */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: { token: string; body?: unknown; timeoutMs?: number },
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(baseUrl + path, {
      method: method.toUpperCase(),
      headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, text };
  } catch (err) {
    throw new Error(`${method.toUpperCase()} ${path} did not answer: ${String(err)}`, { cause: err });
  }
}
