import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { getJobVisibleToUser, getTenantJob, JOB_STATES, jobSchema, listTenantJobs } from './job-repo.ts';
import { routes as onboardingRoutes } from './onboarding-routes.ts';
import { routes as replayRoutes } from './replay-routes.ts';
import { routes as dataplaneReplayRoutes } from './dataplane-replay-routes.ts';

const jobStatusRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/jobs/{jobId}',
    summary: "A background job's state, progress and result",
    tag: 'jobs',
    auth: 'user',
    params: z.object({ jobId: z.string().min(1).max(100) }),
    responses: {
      200: { description: 'the job', schema: jobSchema },
      404: {
        description: 'no such job, or neither requested by the caller nor of a tenant the caller is in',
      },
    },
    handler: async ({ params, principal, deps }) => {
      const job =
        principal?.kind === 'user'
          ? await getJobVisibleToUser(deps.db.pool, principal.userId, params.jobId)
          : principal?.kind === 'api-token'
            ? await getTenantJob(deps.db.pool, principal.tenantId, params.jobId)
            : undefined;
      if (!job) throw new RudderError('not_found', 'job not found');
      return { body: job };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/jobs',
    summary: "The tenant's background jobs, newest first",
    tag: 'jobs',
    auth: 'user',
    role: 'viewer',
    params: z.object({ tenantId: z.string() }),
    query: z.object({
      kind: z.enum(['onboarding', 'replay']).optional(),
      state: z.enum(JOB_STATES).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    responses: { 200: { description: 'the jobs', schema: z.object({ jobs: z.array(jobSchema) }) } },
    handler: async ({ query, access, deps }) => ({
      body: { jobs: await listTenantJobs(deps.db.pool, access!.tenantId, query) },
    }),
  }),
];

/** Onboarding, replays (for users and for data planes) and the status of background jobs. */
export const routes: RouteSpec[] = [
  ...onboardingRoutes,
  ...jobStatusRoutes,
  ...replayRoutes,
  ...dataplaneReplayRoutes,
];
