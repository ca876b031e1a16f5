import { z } from 'zod';
import { RudderError, workspaceConfigSchema } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import type { AppDeps } from '../http/deps.ts';
import { etagOf } from './config-cache.ts';

const query = z.object({
  /** Hold the request up to this long when the config is unchanged (long-poll); 0 answers at once. */
  waitSeconds: z.coerce.number().int().min(0).max(3600).default(0),
});

/**
 * The data plane's config: its whole tenant config with an ETag. With
 * `If-None-Match` set to the current ETag the answer is 304; with `waitSeconds`
 * too, the request is held until the config changes (200 with the new one) or
 * the wait ends (304). A change reaches a waiting data plane as soon as its
 * transaction commits.
 */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/dataplane/config',
    summary: "The calling data plane's tenant config (ETag, If-None-Match, long-poll)",
    tag: 'dataplane',
    auth: 'dataplane',
    query,
    responses: {
      200: { description: 'the config; ETag header carries its version', schema: workspaceConfigSchema },
      304: { description: 'unchanged (after waiting up to waitSeconds)' },
      401: { description: 'missing, unknown or revoked data-plane token' },
    },
    handler: async ({ principal, query, deps, req, res }) => {
      if (principal?.kind !== 'dataplane')
        throw new RudderError('unauthorized', 'a data-plane token is required');
      const tenantId = principal.tenantId;
      const known = req.get('if-none-match');
      const waitMs = Math.min(query.waitSeconds, deps.config.limits.configMaxWaitSeconds) * 1000;

      // Listen before reading the version, so a change committed in between still wakes this request.
      const cancel = new AbortController();
      res.once('close', () => cancel.abort());
      const change =
        waitMs > 0 && known !== undefined
          ? deps.configEvents.waitForChange(tenantId, waitMs, cancel.signal)
          : undefined;
      try {
        let version = await currentVersion(deps, tenantId);
        if (known === etagOf(version) && change) {
          await change;
          if (cancel.signal.aborted) return undefined;
          version = await currentVersion(deps, tenantId);
        }
        if (known === etagOf(version))
          return { status: 304, headers: { etag: etagOf(version), 'cache-control': 'no-cache' } };
        const served = await deps.configCache.get(tenantId, version);
        if (!served) throw new RudderError('not_found', 'tenant not found');
        res.status(200);
        res.setHeader('etag', served.etag);
        res.setHeader('cache-control', 'no-cache');
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(served.json);
        return undefined;
      } finally {
        cancel.abort();
      }
    },
  }),
];

async function currentVersion(deps: AppDeps, tenantId: string): Promise<number> {
  const r = await deps.db.pool.query<{ config_version: number }>(
    'SELECT config_version FROM tenants WHERE id = $1',
    [tenantId],
  );
  const version = r.rows[0]?.config_version;
  if (version === undefined) throw new RudderError('not_found', 'tenant not found');
  return version;
}
