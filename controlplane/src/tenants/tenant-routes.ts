import type { RouteSpec } from '../http/route.ts';

/** Tenants the caller belongs to: list, read, rename, delete. */
export const routes: RouteSpec[] = [];
