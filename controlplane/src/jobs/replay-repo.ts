import { z } from 'zod';
import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';

export const REPLAY_STATUSES = ['requested', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ReplayStatus = (typeof REPLAY_STATUSES)[number];

/** A request to deliver a source's stored events of a time range to a destination again. */
export interface Replay {
  id: string;
  tenantId: string;
  workspaceId: string | null;
  jobId: string;
  sourceId: string;
  destinationId: string;
  from: string;
  to: string;
  status: ReplayStatus;
  replayed: number;
  total: number | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The response schema of a replay (OpenAPI). */
export const replaySchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  workspaceId: z.string().nullable(),
  jobId: z.string(),
  sourceId: z.string(),
  destinationId: z.string(),
  from: z.string(),
  to: z.string(),
  status: z.enum(REPLAY_STATUSES),
  replayed: z.number().int(),
  total: z.number().int().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface ReplayRow {
  tenant_id: string;
  id: string;
  workspace_id: string | null;
  job_id: string;
  source_id: string;
  destination_id: string;
  from_ts: Date;
  to_ts: Date;
  status: ReplayStatus;
  replayed: number;
  total: number | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

function toReplay(row: ReplayRow): Replay {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workspaceId: row.workspace_id,
    jobId: row.job_id,
    sourceId: row.source_id,
    destinationId: row.destination_id,
    from: row.from_ts.toISOString(),
    to: row.to_ts.toISOString(),
    status: row.status,
    replayed: row.replayed,
    total: row.total,
    error: row.error,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function insertReplay(
  q: Queryable,
  r: {
    id: string;
    tenantId: string;
    workspaceId: string;
    jobId: string;
    sourceId: string;
    destinationId: string;
    from: Date;
    to: Date;
  },
): Promise<Replay> {
  const result = await q.query<ReplayRow>(
    `INSERT INTO replays (tenant_id, id, workspace_id, job_id, source_id, destination_id, from_ts, to_ts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [r.tenantId, r.id, r.workspaceId, r.jobId, r.sourceId, r.destinationId, r.from, r.to],
  );
  return toReplay(result.rows[0]!);
}

export async function getReplay(q: Queryable, tenantId: string, id: string): Promise<Replay | undefined> {
  const r = await q.query<ReplayRow>('SELECT * FROM replays WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    id,
  ]);
  return r.rows[0] && toReplay(r.rows[0]);
}

/** A tenant's replays, newest first, optionally only those in `status`. */
export async function listReplays(
  q: Queryable,
  tenantId: string,
  options: { status?: ReplayStatus | undefined; limit: number },
): Promise<Replay[]> {
  const r = await q.query<ReplayRow>(
    `SELECT * FROM replays WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    [tenantId, options.status ?? null, options.limit],
  );
  return r.rows.map(toReplay);
}

/** The replays a tenant's data plane should run (requested or running), oldest first. */
export async function listOpenReplays(q: Queryable, tenantId: string, limit: number): Promise<Replay[]> {
  const r = await q.query<ReplayRow>(
    `SELECT * FROM replays WHERE tenant_id = $1 AND status IN ('requested', 'running')
     ORDER BY created_at, id LIMIT $2`,
    [tenantId, limit],
  );
  return r.rows.map(toReplay);
}

/**
 * Moves an open replay to `status`; a replay that is already final (or
 * cancelled) is a conflict, an unknown one (or another tenant's) not found.
 */
export async function transitionReplay(
  q: Queryable,
  tenantId: string,
  id: string,
  change: { status: ReplayStatus; replayed?: number; total?: number | undefined; error?: string | undefined },
): Promise<Replay> {
  const r = await q.query<ReplayRow>(
    `UPDATE replays
     SET status = $3, replayed = COALESCE($4, replayed), total = COALESCE($5, total), error = $6, updated_at = now()
     WHERE tenant_id = $1 AND id = $2 AND status IN ('requested', 'running')
     RETURNING *`,
    [tenantId, id, change.status, change.replayed ?? null, change.total ?? null, change.error ?? null],
  );
  if (r.rows[0]) return toReplay(r.rows[0]);
  const existing = await getReplay(q, tenantId, id);
  if (!existing) throw new RudderError('not_found', 'replay not found');
  throw new RudderError('conflict', `the replay is already ${existing.status}`, {
    details: { status: existing.status },
  });
}
