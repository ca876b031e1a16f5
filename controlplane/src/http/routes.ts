import { defineRoute, type RouteSpec } from './route.ts';
import { buildOpenApi } from './openapi.ts';
import { routes as ops } from './ops-routes.ts';
import { routes as auth } from '../auth/auth-routes.ts';
import { routes as apiTokens } from '../auth/api-token-routes.ts';
import { routes as tenants } from '../tenants/tenant-routes.ts';
import { routes as members } from '../tenants/member-routes.ts';
import { routes as workspaces } from '../workspaces/workspace-routes.ts';
import { routes as sources } from '../sources/source-routes.ts';
import { routes as destinations } from '../destinations/destination-routes.ts';
import { routes as connections } from '../connections/connection-routes.ts';
import { routes as transformations } from '../transformations/transformation-routes.ts';
import { routes as audit } from '../audit/audit-routes.ts';
import { routes as jobs } from '../jobs/job-routes.ts';
import { routes as catalog } from '../catalog/catalog-routes.ts';
import { routes as dataplaneTokens } from '../dataplane-api/token-routes.ts';
import { routes as dataplaneConfig } from '../dataplane-api/config-routes.ts';
import { routes as sourceConfig } from '../dataplane-api/source-config-routes.ts';

const apiRoutes: readonly RouteSpec[] = [
  ...ops,
  ...auth,
  ...tenants,
  ...members,
  ...apiTokens,
  ...workspaces,
  ...sources,
  ...destinations,
  ...connections,
  ...transformations,
  ...audit,
  ...jobs,
  ...catalog,
  ...dataplaneTokens,
  ...dataplaneConfig,
  ...sourceConfig,
];

/** The version the OpenAPI document states; bump with API changes. */
export const API_VERSION = '1.0.0';

let document: Record<string, unknown> | undefined;

const openApiRoute = defineRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This API as an OpenAPI 3.1 document',
  tag: 'ops',
  auth: 'none',
  responses: { 200: { description: 'the OpenAPI document' } },
  handler: async () => ({ body: (document ??= buildOpenApi(allRoutes, { version: API_VERSION })) }),
});

/** Every route of the API, in the order the OpenAPI document lists them. */
export const allRoutes: readonly RouteSpec[] = [...apiRoutes, openApiRoute];
