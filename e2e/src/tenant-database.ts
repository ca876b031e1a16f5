import pg from 'pg';
import type { CoreV1Api } from '@kubernetes/client-node';
import { rewriteServiceHosts } from './local-rewrites.ts';
import type { ProcessKubelet } from './process-kubelet.ts';

/** One row of `partition_leases`. */
export interface LeaseRow {
  partition: number;
  /** `<workerId>/<incarnation>`, null once released. */
  owner: string | null;
  epoch: number;
  /** Unexpired on the Postgres clock. */
  live: boolean;
  expiresAt: Date | null;
  acquiredAt: Date | null;
}

/**
 * What a test reads from a tenant's jobs database, run by the process
 * kubelet: the partition leases and the delivery jobs waiting for a retry.
 * Reads only, in the data plane's schema, a connection per call (nothing
 * stays open to break when the pod's Postgres stops).
 */
export class TenantDatabase {
  private readonly config: pg.ClientConfig;

  private constructor(config: pg.ClientConfig) {
    this.config = config;
  }

  /**
   * Connects as the tenant's workers do: the URL in the namespace's
   * `database-url` Secret, its Service host replaced by the local address
   * of the Postgres pod the kubelet runs.
   */
  static async connect(
    core: CoreV1Api,
    kubelet: ProcessKubelet,
    namespace: string,
    schema = 'rudder',
  ): Promise<TenantDatabase> {
    const secret = await core.readNamespacedSecret({ namespace, name: 'database-url' });
    const url = Buffer.from(secret.data?.['url'] ?? '', 'base64').toString('utf8');
    const local = rewriteServiceHosts(
      { url },
      (ref) => new URL(kubelet.serviceUrl(ref.namespace, ref.service, ref.port)).host,
    ).env['url']!;
    return new TenantDatabase({
      connectionString: local,
      options: `-c search_path=${pg.escapeIdentifier(schema)}`,
      connectionTimeoutMillis: 5000,
    });
  }

  async leases(): Promise<LeaseRow[]> {
    const { rows } = await this.query<{
      partition_id: number;
      owner: string | null;
      epoch: string;
      live: boolean;
      expires_at: Date | null;
      acquired_at: Date | null;
    }>(
      `SELECT partition_id, owner, epoch, coalesce(expires_at > now(), false) AS live, expires_at, acquired_at
       FROM partition_leases ORDER BY partition_id`,
    );
    return rows.map((r) => ({
      partition: r.partition_id,
      owner: r.owner,
      epoch: Number(r.epoch),
      live: r.live,
      expiresAt: r.expires_at,
      acquiredAt: r.acquired_at,
    }));
  }

  /** Delivery jobs waiting for a retry (or held behind one) in `partitions`, across the router's datasets. */
  async waitingJobs(partitions: readonly number[]): Promise<number> {
    const datasets = await this.query<{ idx: number }>(`SELECT idx FROM datasets WHERE kind = 'rt'`);
    let waiting = 0;
    for (const { idx } of datasets.rows) {
      try {
        const { rows } = await this.query<{ n: string }>(
          `SELECT count(*) AS n FROM rt_status_${idx} WHERE state = 'waiting' AND partition_id = ANY($1::int[])`,
          [partitions],
        );
        waiting += Number(rows[0]?.n ?? 0);
      } catch (err) {
        // A dataset dropped meanwhile (maintenance) had nothing waiting.
        if ((err as { code?: string }).code !== UNDEFINED_TABLE) throw err;
      }
    }
    return waiting;
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const client = new pg.Client(this.config);
    await client.connect();
    try {
      return await client.query<R>(text, values);
    } finally {
      await client.end();
    }
  }
}

/** Postgres' SQLSTATE for a relation that does not exist. */
const UNDEFINED_TABLE = '42P01';
