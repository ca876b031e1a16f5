import type { RouteSpec } from '../http/route.ts';

/** The destination catalog. */
export const routes: RouteSpec[] = [];
