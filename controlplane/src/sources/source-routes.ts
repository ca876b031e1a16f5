import type { RouteSpec } from '../http/route.ts';

/** Sources of a workspace: write keys, enable/disable, key rotation. */
export const routes: RouteSpec[] = [];
