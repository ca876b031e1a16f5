import pg from 'pg';
import type { CoreV1Api } from '@kubernetes/client-node';
import { countWaitingJobs, readLeases, type LeaseRow } from '@rudder/devkit';
import { rewriteServiceHosts } from './local-rewrites.ts';
import type { ProcessKubelet } from './process-kubelet.ts';

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
    return this.query(readLeases);
  }

  /** Delivery jobs waiting for a retry (or held behind one) in `partitions`, across the router's datasets. */
  async waitingJobs(partitions: readonly number[]): Promise<number> {
    return this.query((client) => countWaitingJobs(client, partitions));
  }

  private async query<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(this.config);
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.end();
    }
  }
}
