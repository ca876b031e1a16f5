import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Logger } from '@rudder/common';
import type { Principal, Role, TenantAccess } from '../auth/principal.ts';
import type { AppDeps } from './deps.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route:
 * - `none`: anyone (login, health, the browser SDK's sourceConfig);
 * - `user`: a user's access token or an API token;
 * - `dataplane`: a data-plane token (reads its own tenant's config only).
 */
export type AuthKind = 'none' | 'user' | 'dataplane';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Set for every route whose auth is not `none`. */
  principal: Principal | undefined;
  /** Set for routes with a `role`: the tenant of `{tenantId}` and the caller's role in it. */
  access: TenantAccess | undefined;
  deps: AppDeps;
  log: Logger;
  req: Request;
  res: Response;
}

/** What a handler answers; `undefined` means it wrote the response itself (streams, long-polls). */
export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> } | undefined;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/**
 * One API route: the single description from which express mounts it, the
 * request is validated and the OpenAPI document is written.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** OpenAPI-style path: `/v1/tenants/{tenantId}/sources/{sourceId}`. */
  path: string;
  summary: string;
  tag: string;
  auth: AuthKind;
  /** Least role needed in the path's `{tenantId}`; callers without membership get 404. */
  role?: Role;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseSpec>;
  handler(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<Reply>;
}

/** Identity helper that infers the handler's types from the schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec;
}

/** `/v1/tenants/{tenantId}` -> `/v1/tenants/:tenantId` (express 5 syntax). */
export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}
