import type { RouteSpec } from '../http/route.ts';

/** Workspaces of a tenant. */
export const routes: RouteSpec[] = [];
