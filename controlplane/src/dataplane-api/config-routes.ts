import type { RouteSpec } from '../http/route.ts';

/** The data-plane config endpoint (ETag, long-poll). */
export const routes: RouteSpec[] = [];
