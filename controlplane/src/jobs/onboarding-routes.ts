import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { newId } from '../ids.ts';
import type { ControlPlaneConfig } from '../config.ts';
import { getJobData, insertJob, latestOnboardingJob, requeueJob } from './job-repo.ts';
import { enqueueOrDefer, parseJob } from './job-recovery.ts';
import { lockTenantId } from './onboarding.ts';
import { getInstance, instanceSchema } from './instance-repo.ts';
import type { QueuedJob } from './queues.ts';

/** Tenant ids name Kubernetes namespaces: DNS labels of 3 to 40 characters (as the tenants table checks). */
const TENANT_ID = /^[a-z0-9]([a-z0-9-]{1,38}[a-z0-9])$/;

const createTenantBody = z.object({
  name: z.string().trim().min(1).max(200),
  id: z
    .string()
    .regex(TENANT_ID, 'must be a DNS label of 3 to 40 characters: a-z, 0-9 and inner dashes')
    .optional(),
});

/** Namespaces a tenant id must not take. */
function isReserved(tenantId: string, cfg: ControlPlaneConfig): boolean {
  return (
    tenantId === 'default' || tenantId.startsWith('kube-') || tenantId === cfg.kubernetes.systemNamespace
  );
}

function taken(tenantId: string): RudderError {
  return new RudderError('conflict', `tenant id "${tenantId}" is taken`, { details: { field: 'body.id' } });
}

/** Tenant onboarding (a background job) and the tenant's data-plane instance. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants',
    summary:
      'Create a tenant: starts its onboarding job (tenant, first workspace, data-plane token, instance)',
    tag: 'tenants',
    auth: 'user',
    body: createTenantBody,
    responses: {
      202: {
        description: 'onboarding started (or, for the same caller and id, already under way)',
        schema: z.object({ jobId: z.string(), tenantId: z.string() }),
      },
      403: { description: 'API tokens cannot create tenants' },
      409: { description: 'the tenant id is taken' },
    },
    handler: async ({ body, principal, deps, log }) => {
      if (principal?.kind !== 'user')
        throw new RudderError('forbidden', 'API tokens belong to a tenant and cannot create tenants');
      const tenantId = body.id ?? newId.tenant();
      if (isReserved(tenantId, deps.config))
        throw new RudderError('invalid_request', `body.id: "${tenantId}" is reserved`, {
          details: { field: 'body.id' },
        });

      const planned = await deps.db.tx(async (tx) => {
        await lockTenantId(tx, tenantId);
        const latest = await latestOnboardingJob(tx, tenantId);
        if (latest && latest.state !== 'completed') {
          if (latest.requestedBy !== principal.userId) throw taken(tenantId);
          // The same request again: answer with the job under way, or run a failed one again.
          if (latest.state === 'failed') await requeueJob(tx, latest.id);
          return {
            jobId: latest.id,
            existing: true,
            job: parseJob('onboarding', await getJobData(tx, latest.id)),
          };
        }
        const exists = await tx.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
        if (exists.rowCount) throw taken(tenantId);
        const job: QueuedJob = {
          kind: 'onboarding',
          data: {
            jobId: newId.job(),
            requestedBy: principal.userId,
            requestedByEmail: principal.email,
            tenantId,
            tenantName: body.name,
          },
        };
        await insertJob(tx, {
          id: job.data.jobId,
          kind: 'onboarding',
          tenantId,
          requestedBy: principal.userId,
          data: job.data,
        });
        return { jobId: job.data.jobId, existing: false, job: job as QueuedJob | undefined };
      });

      if (planned.job) await enqueueOrDefer(deps.queues, planned.job, log);
      else log.error({ job: planned.jobId }, 'onboarding job with unreadable data');
      log.info(
        { job: planned.jobId, tenant: tenantId, existing: planned.existing },
        'tenant onboarding queued',
      );
      return {
        status: 202,
        headers: { location: `/v1/jobs/${planned.jobId}` },
        body: { jobId: planned.jobId, tenantId },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/instance',
    summary: "The tenant's data-plane instance and its status",
    tag: 'tenants',
    auth: 'user',
    role: 'viewer',
    params: z.object({ tenantId: z.string() }),
    responses: {
      200: { description: 'the instance', schema: instanceSchema },
      404: { description: 'no instance (yet)' },
    },
    handler: async ({ access, deps }) => {
      const instance = await getInstance(deps.db.pool, access!.tenantId);
      if (!instance) throw new RudderError('not_found', 'the tenant has no instance yet');
      return { body: instance };
    },
  }),
];
