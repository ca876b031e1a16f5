import { z } from 'zod';
import type { Queryable } from '../db/db.ts';
import type { JobKind } from './queues.ts';

export const JOB_STATES = ['queued', 'active', 'retrying', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A background job as the API shows it: the `jobs` row the workers keep in step with BullMQ. */
export interface JobRecord {
  id: string;
  kind: JobKind;
  tenantId: string | null;
  requestedBy: string;
  state: JobState;
  progress: Record<string, unknown>;
  result: unknown;
  error: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

/** The response schema of a job (OpenAPI). */
export const jobSchema = z.object({
  id: z.string(),
  kind: z.enum(['onboarding', 'replay']),
  tenantId: z.string().nullable(),
  requestedBy: z.string(),
  state: z.enum(JOB_STATES),
  progress: z.record(z.string(), z.unknown()),
  result: z.unknown(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface JobRow {
  id: string;
  kind: JobKind;
  tenant_id: string | null;
  requested_by: string;
  state: JobState;
  progress: Record<string, unknown>;
  result: unknown;
  error: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, kind, tenant_id, requested_by, state, progress, result, error, attempts, created_at, updated_at';

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    tenantId: row.tenant_id,
    requestedBy: row.requested_by,
    state: row.state,
    progress: row.progress,
    result: row.result,
    error: row.error,
    attempts: row.attempts,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Records a new job as `queued`; `data` is what BullMQ gets, kept to enqueue it again after a crash. */
export async function insertJob(
  q: Queryable,
  job: { id: string; kind: JobKind; tenantId: string; requestedBy: string; data: object },
): Promise<JobRecord> {
  const r = await q.query<JobRow>(
    `INSERT INTO jobs (id, kind, tenant_id, requested_by, data) VALUES ($1, $2, $3, $4, $5)
     RETURNING ${COLUMNS}`,
    [job.id, job.kind, job.tenantId, job.requestedBy, JSON.stringify(job.data)],
  );
  return toRecord(r.rows[0]!);
}

/** A job of `tenantId`, or undefined. */
export async function getTenantJob(
  q: Queryable,
  tenantId: string,
  id: string,
): Promise<JobRecord | undefined> {
  const r = await q.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2`, [
    id,
    tenantId,
  ]);
  return r.rows[0] && toRecord(r.rows[0]);
}

/** A job the user requested or that belongs to a tenant the user is a member of; otherwise undefined. */
export async function getJobVisibleToUser(
  q: Queryable,
  userId: string,
  id: string,
): Promise<JobRecord | undefined> {
  const r = await q.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs j
     WHERE j.id = $1
       AND (j.requested_by = $2
            OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = j.tenant_id AND m.user_id = $2))`,
    [id, userId],
  );
  return r.rows[0] && toRecord(r.rows[0]);
}

/** A tenant's jobs, newest first. */
export async function listTenantJobs(
  q: Queryable,
  tenantId: string,
  filter: { kind?: JobKind | undefined; state?: JobState | undefined; limit: number },
): Promise<JobRecord[]> {
  const r = await q.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs
     WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR state = $3)
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    [tenantId, filter.kind ?? null, filter.state ?? null, filter.limit],
  );
  return r.rows.map(toRecord);
}

/** The latest onboarding job for a tenant id, with its requester. */
export async function latestOnboardingJob(q: Queryable, tenantId: string): Promise<JobRecord | undefined> {
  const r = await q.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs WHERE kind = 'onboarding' AND tenant_id = $1
     ORDER BY created_at DESC LIMIT 1`,
    [tenantId],
  );
  return r.rows[0] && toRecord(r.rows[0]);
}

/** The data a job was enqueued with. */
export async function getJobData(q: Queryable, id: string): Promise<unknown> {
  const r = await q.query<{ data: unknown }>('SELECT data FROM jobs WHERE id = $1', [id]);
  return r.rows[0]?.data;
}

/** Puts a failed job back in line for a fresh run (the re-run keeps the progress it made). */
export async function requeueJob(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE jobs SET state = 'queued', error = NULL, updated_at = now() WHERE id = $1`, [id]);
}

export async function deleteJob(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM jobs WHERE id = $1', [id]);
}

/**
 * An attempt started. Returns the progress recorded so far (what earlier
 * attempts finished), or undefined when the row does not exist.
 */
export async function markActive(
  q: Queryable,
  id: string,
  attempt: number,
): Promise<Record<string, unknown> | undefined> {
  const r = await q.query<{ progress: Record<string, unknown> }>(
    `UPDATE jobs SET state = 'active', attempts = $2, updated_at = now() WHERE id = $1 RETURNING progress`,
    [id, attempt],
  );
  return r.rows[0]?.progress;
}

export async function recordProgress(q: Queryable, id: string, progress: object): Promise<void> {
  await q.query('UPDATE jobs SET progress = $2, updated_at = now() WHERE id = $1', [
    id,
    JSON.stringify(progress),
  ]);
}

export async function markCompleted(q: Queryable, id: string, result: unknown): Promise<void> {
  await q.query(
    `UPDATE jobs SET state = 'completed', result = $2, error = NULL, updated_at = now() WHERE id = $1`,
    [id, JSON.stringify(result ?? null)],
  );
}

/** An attempt failed: `retrying` when BullMQ will run it again, `failed` when that was the last. */
export async function markFailed(
  q: Queryable,
  id: string,
  error: string,
  state: 'retrying' | 'failed',
): Promise<void> {
  await q.query('UPDATE jobs SET state = $2, error = $3, updated_at = now() WHERE id = $1', [
    id,
    state,
    error,
  ]);
}

/** A running attempt was handed back to the queue (this process is shutting down). */
export async function markRequeued(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE jobs SET state = 'queued', updated_at = now() WHERE id = $1 AND state = 'active'`, [
    id,
  ]);
}

/** Jobs not yet finished, oldest first, with what to enqueue them with. */
export async function listUnfinishedJobs(
  q: Queryable,
  limit: number,
): Promise<{ id: string; kind: JobKind; state: JobState; data: unknown; updatedAt: Date }[]> {
  const r = await q.query<{ id: string; kind: JobKind; state: JobState; data: unknown; updated_at: Date }>(
    `SELECT id, kind, state, data, updated_at FROM jobs
     WHERE state IN ('queued', 'active', 'retrying') ORDER BY created_at LIMIT $1`,
    [limit],
  );
  return r.rows.map((row) => ({ ...row, updatedAt: row.updated_at }));
}
