import { z } from 'zod';
import type { RouteSpec } from './route.ts';

type JsonSchema = Record<string, unknown>;

/** The OpenAPI 3.1 document of the API, written from the same route table express mounts. */
export function buildOpenApi(
  routes: readonly RouteSpec[],
  info: { version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: operationIdOf(route),
      summary: route.summary,
      tags: [route.tag],
      security: securityOf(route),
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema
              ? { content: { 'application/json': { schema: toSchema(r.schema, 'output') } } }
              : {}),
          },
        ]),
      ),
    };
    if (route.role) operation['x-rudder-role'] = route.role;
    if (route.body)
      operation['requestBody'] = {
        required: true,
        content: { 'application/json': { schema: toSchema(route.body, 'input') } },
      };
    (paths[route.path] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Rudder control plane API',
      version: info.version,
      description:
        'Tenants, workspaces, sources, destinations, connections, transformations, users and roles; ' +
        'the destination catalog; the data-plane config endpoint; background jobs.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Access token (JWT) or API token (rdr_api_...)',
        },
        dataplane: { type: 'http', scheme: 'bearer', description: 'Data-plane token (rdr_dp_...)' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
      },
    },
    paths,
  };
}

function operationIdOf(route: RouteSpec): string {
  const words = route.path
    .split('/')
    .filter((s) => s && s !== 'v1')
    .map((s) =>
      s.startsWith('{')
        ? 'By' + cap(s.slice(1, -1))
        : cap(s.replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string) => (c ?? '').toUpperCase())),
    );
  return route.method + words.join('');
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function securityOf(route: RouteSpec): Record<string, string[]>[] {
  switch (route.auth) {
    case 'none':
      return [];
    case 'user':
      return [{ bearer: [] }];
    case 'dataplane':
      return [{ dataplane: [] }];
  }
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}
