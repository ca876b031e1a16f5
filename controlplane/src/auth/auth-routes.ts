import type { RouteSpec } from '../http/route.ts';

/** Signup, login, refresh, logout and the caller's profile. */
export const routes: RouteSpec[] = [];
