import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { Queryable } from '../db/db.ts';
import type { AppDeps } from '../http/deps.ts';
import { createTenant } from '../tenants/tenant-repo.ts';
import { recordAudit } from '../audit/audit.ts';
import { issueDataplaneToken } from '../dataplane-api/dataplane-tokens.ts';
import { lockInstance, setInstanceStatus, setInstanceToken, type InstanceStatus } from './instance-repo.ts';
import type { JobContext } from './job-runner.ts';
import type { OnboardingJobData } from './queues.ts';

const STEPS = ['create-tenant', 'issue-token', 'apply-instance', 'wait-ready'] as const;
export type OnboardingStep = (typeof STEPS)[number];

/** What an onboarding job reports as its progress (and what a re-run resumes from). */
export interface OnboardingProgress {
  /** The step running now, or `done`. */
  step: OnboardingStep | 'done';
  /** Steps finished, by this or an earlier attempt. */
  done: OnboardingStep[];
  workspaceId?: string;
  /** Id (never the token) of the tenant's first data-plane token. */
  dataplaneTokenId?: string;
  instance?: { status: InstanceStatus; message: string };
}

export interface OnboardingResult {
  tenantId: string;
  workspaceId: string;
  instance: { status: InstanceStatus };
}

export interface OnboardingOptions {
  /** How often the RudderInstance's Ready condition is read. */
  readyPollMs: number;
  /** How long one attempt waits for Ready before the instance is marked failed. */
  readyTimeoutMs: number;
}

export const NO_CLUSTER_MESSAGE =
  'no Kubernetes cluster is configured (KUBERNETES=none): the data plane was not provisioned';
const APPLIED_MESSAGE = 'RudderInstance applied; waiting for it to be Ready';
/** Name of the data-plane token onboarding issues. */
export const FIRST_TOKEN_NAME = 'onboarding';

const previousSchema = z.object({
  done: z.array(z.enum(STEPS)).catch(() => []),
  workspaceId: z.string().optional().catch(undefined),
  dataplaneTokenId: z.string().optional().catch(undefined),
});

/**
 * Serializes everything that creates a tenant id (the API's reservation and
 * the onboarding job's first step) for the rest of the transaction `q`.
 */
export async function lockTenantId(q: Queryable, tenantId: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tenant:${tenantId}`]);
}

/**
 * Onboards a tenant: (1) the tenant with its owner and first workspace, (2)
 * its first data-plane token, (3) with a cluster, the RudderInstance (and
 * the Secret with the token), then (4) waits for it to be Ready. Every step
 * is idempotent on its own (the database says whether it happened) and is
 * recorded in the progress, so a retry or a re-run after a crash continues
 * where the last run stopped.
 */
export async function runOnboarding(
  deps: Pick<AppDeps, 'db' | 'kube' | 'config'>,
  data: OnboardingJobData,
  ctx: JobContext,
  options: OnboardingOptions,
): Promise<OnboardingResult> {
  const { db, kube } = deps;
  const { tenantId } = data;
  const previous = previousSchema.safeParse(ctx.previousProgress);
  const progress: OnboardingProgress = { step: 'create-tenant', done: [] };
  if (previous.success) {
    progress.done = [...previous.data.done];
    if (previous.data.workspaceId !== undefined) progress.workspaceId = previous.data.workspaceId;
    if (previous.data.dataplaneTokenId !== undefined)
      progress.dataplaneTokenId = previous.data.dataplaneTokenId;
  }
  const isDone = (step: OnboardingStep): boolean => progress.done.includes(step);
  const begin = async (step: OnboardingStep): Promise<void> => {
    progress.step = step;
    await ctx.report(progress);
  };
  const finish = async (step: OnboardingStep): Promise<void> => {
    if (!isDone(step)) progress.done.push(step);
    await ctx.report(progress);
  };

  if (!isDone('create-tenant') || progress.workspaceId === undefined) {
    await begin('create-tenant');
    const created = await db.tx(async (tx) => {
      await lockTenantId(tx, tenantId);
      const result = await createTenant(tx, {
        id: tenantId,
        name: data.tenantName,
        ownerUserId: data.requestedBy,
      });
      if (result.created)
        await recordAudit(
          tx,
          { kind: 'user', userId: data.requestedBy, email: data.requestedByEmail },
          {
            tenantId,
            action: 'tenant.create',
            objectType: 'tenant',
            objectId: tenantId,
            changes: { name: data.tenantName, workspaceId: result.workspaceId },
          },
        );
      return result;
    });
    progress.workspaceId = created.workspaceId;
    await finish('create-tenant');
  }

  const instanceInput = (dataplaneToken: string | undefined) => ({
    tenantId,
    dataplaneToken,
    controlPlaneUrl: controlPlaneUrlOf(deps.config),
    image: deps.config.kubernetes.dataplaneImage,
  });

  if (!isDone('issue-token')) {
    await begin('issue-token');
    const issued = await db.tx(async (tx) => {
      const instance = await lockInstance(tx, tenantId);
      if (instance.dataplaneTokenId !== null) return { tokenId: instance.dataplaneTokenId, applied: false };
      const token = await issueDataplaneToken(tx, tenantId, FIRST_TOKEN_NAME);
      await setInstanceToken(tx, tenantId, token.id);
      if (kube) {
        // Handing the token to the cluster inside this transaction means the token row
        // commits only once its Secret exists: a crash in between leaves no token that
        // no Secret holds, and the re-run issues a fresh one. The plaintext lives only here.
        await kube.applyInstance(instanceInput(token.token));
        await setInstanceStatus(tx, tenantId, 'creating', APPLIED_MESSAGE);
      }
      return { tokenId: token.id, applied: kube !== undefined };
    });
    progress.dataplaneTokenId = issued.tokenId;
    progress.done.push('issue-token');
    if (issued.applied) progress.done.push('apply-instance');
    await ctx.report(progress);
  }

  if (!kube) {
    await setInstanceStatus(db.pool, tenantId, 'pending', NO_CLUSTER_MESSAGE);
    progress.instance = { status: 'pending', message: NO_CLUSTER_MESSAGE };
    progress.step = 'done';
    await ctx.report(progress);
    return { tenantId, workspaceId: progress.workspaceId, instance: { status: 'pending' } };
  }

  if (!isDone('apply-instance')) {
    await begin('apply-instance');
    // The Secret already holds the token (applied with it above); only the instance is (re)applied.
    await kube.applyInstance(instanceInput(undefined));
    await setInstanceStatus(db.pool, tenantId, 'creating', APPLIED_MESSAGE);
    await finish('apply-instance');
  }

  await begin('wait-ready');
  const started = Date.now();
  for (;;) {
    const status = await kube.instanceStatus(tenantId);
    if (status?.ready) {
      const message = status.message || 'Ready';
      await setInstanceStatus(db.pool, tenantId, 'ready', message);
      progress.instance = { status: 'ready', message };
      progress.step = 'done';
      await finish('wait-ready');
      return { tenantId, workspaceId: progress.workspaceId, instance: { status: 'ready' } };
    }
    const message = status ? status.message || 'waiting for the operator' : 'RudderInstance not found yet';
    if (Date.now() - started >= options.readyTimeoutMs) {
      const failure = `not Ready after ${Math.round(options.readyTimeoutMs / 1000)} s: ${message}`;
      await setInstanceStatus(db.pool, tenantId, 'failed', failure);
      progress.instance = { status: 'failed', message: failure };
      await ctx.report(progress);
      throw new UnrecoverableError(`the tenant's RudderInstance is ${failure}`);
    }
    if (progress.instance?.message !== message) {
      await setInstanceStatus(db.pool, tenantId, 'creating', message);
      progress.instance = { status: 'creating', message };
      await ctx.report(progress);
    }
    await ctx.pause(options.readyPollMs);
  }
}

/** The URL the tenant's data plane reaches this control plane at. */
function controlPlaneUrlOf(config: AppDeps['config']): string {
  // createKube refuses to start without it; this guards the type.
  if (config.http.publicUrl === undefined)
    throw new UnrecoverableError('PUBLIC_URL is not set: the RudderInstance needs the control plane URL');
  return config.http.publicUrl;
}
