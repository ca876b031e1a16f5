import type { RouteSpec } from '../http/route.ts';

/** sourceConfig for browser SDKs. */
export const routes: RouteSpec[] = [];
