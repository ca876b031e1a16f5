import type pg from 'pg';
import { RudderError } from '@rudder/common';
import { currentDataset, datasetTables, isUndefinedTable } from './datasets.ts';
import type { GatewayWrite, NewGatewayJob } from './types.ts';

/**
 * Serializes gateway commits of one tenant (across all gateway processes): job
 * ids are then committed in increasing order, so a reader that has seen job N
 * has seen every job below N, and per-partition cursors are safe.
 */
export const GATEWAY_WRITE_LOCK = 0x67777772; // "gwwr"

export interface WriteResult {
  stored: number;
  duplicates: number;
}

interface Pending {
  write: GatewayWrite;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: requests that arrive while a commit is running are gathered
 * and committed together in the next transaction. A request is resolved only
 * after the transaction holding all its events committed, and rejected whole
 * when that transaction fails.
 */
export class GatewayWriter {
  private readonly pool: pg.Pool;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly onCommit: (events: number, seconds: number) => void;
  private queue: Pending[] = [];
  private running = false;
  private idle: (() => void)[] = [];

  constructor(
    pool: pg.Pool,
    options: { maxEvents: number; maxBytes: number; onCommit?: (events: number, seconds: number) => void },
  ) {
    this.pool = pool;
    this.maxEvents = Math.max(1, options.maxEvents);
    this.maxBytes = Math.max(1, options.maxBytes);
    this.onCommit = options.onCommit ?? (() => {});
  }

  /** Stores one request's events atomically; resolves after commit. */
  write(write: GatewayWrite): Promise<WriteResult> {
    if (write.jobs.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Resolves once nothing is queued or committing (used by graceful shutdown). */
  async flushed(): Promise<void> {
    if (!this.running && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const group = this.takeGroup();
      const started = performance.now();
      try {
        const results = await this.commit(group.map((p) => p.write));
        group.forEach((p, i) => p.resolve(results[i]!));
        this.onCommit(
          group.reduce((n, p) => n + p.write.jobs.length, 0),
          (performance.now() - started) / 1000,
        );
      } catch (err) {
        const error = toStoreError(err);
        for (const p of group) p.reject(error);
      }
    }
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private takeGroup(): Pending[] {
    let events = 0;
    let bytes = 0;
    let n = 0;
    for (const p of this.queue) {
      if (n > 0 && (events + p.write.jobs.length > this.maxEvents || bytes + p.write.bytes > this.maxBytes))
        break;
      events += p.write.jobs.length;
      bytes += p.write.bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async commit(writes: GatewayWrite[], attempt = 0): Promise<WriteResult[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [GATEWAY_WRITE_LOCK]);
      const duplicates = await findDuplicates(client, writes);
      const rows: NewGatewayJob[] = [];
      const results = writes.map((w, i) => {
        const dup = duplicates[i]!;
        for (let j = 0; j < w.jobs.length; j++) if (!dup.has(j)) rows.push(w.jobs[j]!);
        return { stored: w.jobs.length - dup.size, duplicates: dup.size };
      });
      if (rows.length > 0) await insertJobs(client, await currentDataset(client, 'gw'), rows);
      await client.query('COMMIT');
      return results;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      // The dataset we wrote to was dropped between listing and insert: list again.
      if (isUndefinedTable(err) && attempt < 3) return this.commit(writes, attempt + 1);
      throw err;
    } finally {
      client.release();
    }
  }
}

async function insertJobs(client: pg.PoolClient, dataset: number, rows: NewGatewayJob[]): Promise<void> {
  const { jobs } = datasetTables('gw', dataset);
  const n = rows.length;
  const partition = new Array<number>(n);
  const workspace = new Array<string>(n);
  const source = new Array<string>(n);
  const user = new Array<string>(n);
  const message = new Array<string>(n);
  const received = new Array<string>(n);
  const event = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    partition[i] = r.partitionId;
    workspace[i] = r.workspaceId;
    source[i] = r.sourceId;
    user[i] = r.userKey;
    message[i] = r.messageId;
    received[i] = r.receivedAt.toISOString();
    event[i] = JSON.stringify(r.event);
  }
  await client.query(
    `INSERT INTO ${jobs} (partition_id, workspace_id, source_id, user_key, message_id, received_at, event)
     SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::json[])`,
    [partition, workspace, source, user, message, received, event],
  );
}

/**
 * For each write, the indexes of events already seen within their source's
 * dedup window (or earlier in the same group). Seen ids are recorded in the
 * same transaction, so a rolled-back request leaves no trace.
 */
async function findDuplicates(client: pg.PoolClient, writes: GatewayWrite[]): Promise<Set<number>[]> {
  const result = writes.map(() => new Set<number>());
  const sources: string[] = [];
  const messages: string[] = [];
  const windows: number[] = [];
  const owners: [number, number][] = [];
  const seenInGroup = new Set<string>();
  writes.forEach((w, i) => {
    if (w.dedupWindowSeconds <= 0) return;
    w.jobs.forEach((job, j) => {
      const key = `${job.sourceId}\u0000${job.messageId}`;
      if (seenInGroup.has(key)) {
        result[i]!.add(j);
        return;
      }
      seenInGroup.add(key);
      sources.push(job.sourceId);
      messages.push(job.messageId);
      windows.push(w.dedupWindowSeconds);
      owners.push([i, j]);
    });
  });
  if (sources.length === 0) return result;
  const fresh = await client.query<{ ord: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS t(source_id, message_id, window_s, ord)
     ), upserted AS (
       INSERT INTO dedup (source_id, message_id, expires_at)
       SELECT source_id, message_id, now() + make_interval(secs => window_s) FROM input
       ON CONFLICT (source_id, message_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE dedup.expires_at < now()
       RETURNING source_id, message_id
     )
     SELECT i.ord::int AS ord FROM input i JOIN upserted u USING (source_id, message_id)`,
    [sources, messages, windows],
  );
  const isFresh = new Set(fresh.rows.map((r) => r.ord - 1));
  owners.forEach(([i, j], k) => {
    if (!isFresh.has(k)) result[i]!.add(j);
  });
  return result;
}

/** Database failures reach clients as 503 with a Retry-After, never as success. */
function toStoreError(err: unknown): RudderError {
  if (err instanceof RudderError) return err;
  return new RudderError('unavailable', 'event store unavailable, retry later', {
    retryAfterSeconds: 1,
    cause: err,
  });
}
