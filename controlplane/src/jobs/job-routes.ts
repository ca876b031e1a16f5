import type { RouteSpec } from '../http/route.ts';

/** Onboarding, replays and the status of background jobs. */
export const routes: RouteSpec[] = [];
