import type { RouteSpec } from '../http/route.ts';

/** Connections from sources to destinations. */
export const routes: RouteSpec[] = [];
