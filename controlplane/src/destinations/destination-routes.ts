import type { RouteSpec } from '../http/route.ts';

/** Destinations of a workspace, validated against the catalog. */
export const routes: RouteSpec[] = [];
