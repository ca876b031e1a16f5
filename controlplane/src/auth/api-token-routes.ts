import type { RouteSpec } from '../http/route.ts';

/** API tokens for automation: create (shown once), list, revoke. */
export const routes: RouteSpec[] = [];
