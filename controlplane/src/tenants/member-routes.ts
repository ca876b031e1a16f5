import type { RouteSpec } from '../http/route.ts';

/** Users of a tenant and their roles. */
export const routes: RouteSpec[] = [];
