import type { RouteSpec } from '../http/route.ts';

/** Transformations and their versions. */
export const routes: RouteSpec[] = [];
