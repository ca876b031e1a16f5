import type { RouteSpec } from '../http/route.ts';

/** Data-plane tokens of a tenant: create (shown once), list, revoke. */
export const routes: RouteSpec[] = [];
