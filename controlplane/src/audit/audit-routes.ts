import type { RouteSpec } from '../http/route.ts';

/** The tenant's audit log. */
export const routes: RouteSpec[] = [];
