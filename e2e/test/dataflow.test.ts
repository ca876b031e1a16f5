/**
 * The whole platform on a real API server: the control plane (with
 * KUBERNETES=kubeconfig) onboards a tenant, which creates its token Secret and
 * RudderInstance; the operator turns that into workloads; the process kubelet
 * runs the pods those workloads call for as local processes (data plane and
 * Postgres, with the pods' environment); an event sent to the tenant's gateway
 * Service reaches a webhook sink.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import { startSink, waitFor, type Sink } from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import {
  installCrds,
  startCluster,
  startProcessKubelet,
  type Cluster,
  type ProcessKubelet,
} from '../src/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../src/operator-process.ts';
import { logTail } from '../src/processes.ts';
import { startControlPlaneProcess, type ControlPlaneProcess } from '../src/control-plane-process.ts';

let cluster: Cluster;
let kubelet: ProcessKubelet;
let operator: OperatorProcess;
let controlPlane: ControlPlaneProcess;
let sink: Sink;
let db: pg.Pool;

beforeAll(async () => {
  cluster = await startCluster();
  await installCrds(cluster);
  await cluster.kubectl(['create', 'namespace', 'rudder-system']);
  sink = await startSink();

  controlPlane = await startControlPlaneProcess(cluster);
  db = new pg.Pool({ connectionString: controlPlane.database.url, max: 2 });
  // Data-plane and Postgres pods run for real; the rest (none here) would be faked.
  kubelet = await startProcessKubelet(cluster, { run: () => 'process' });
  operator = await startOperatorProcess(cluster, 'op-dataflow');
}, 300_000);

afterAll(async () => {
  await operator?.stop('SIGTERM').catch(() => {});
  await kubelet?.stop();
  await db?.end();
  await controlPlane?.stop();
  await sink?.close();
  await cluster?.stop();
}, 90_000);

describe('onboarding through the control plane, data through operator-made workloads', () => {
  it('creates the RudderInstance through the Kubernetes API, waits for Ready, and an event reaches the sink', async () => {
    const login = await controlPlane.api<{ accessToken: string }>('POST', '/v1/auth/signup', undefined, {
      email: 'owner@acme.test',
      password: 'correct horse battery staple',
      name: 'Owner',
    });
    const token = login.accessToken;
    const started = Date.now();
    const { jobId } = await controlPlane.api<{ jobId: string }>('POST', '/v1/tenants', token, {
      id: 'acme',
      name: 'Acme',
    });
    const job = await waitFor(
      'the onboarding job to complete (instance Ready)',
      async () => {
        const j = await controlPlane.api<{ state: string; error?: string; result?: unknown }>(
          'GET',
          `/v1/jobs/${jobId}`,
          token,
        );
        if (j.state === 'failed') throw new Error(`onboarding failed: ${j.error}`);
        return j.state === 'completed' ? j : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n--- control plane:\n${logTail(controlPlane.proc.logFile)}\n--- operator:\n${operator.logs().slice(-4000)}`,
      );
    });
    console.log(`onboarding to Ready: ${Date.now() - started} ms`);
    expect(job.result).toMatchObject({ tenantId: 'acme', instance: { status: 'ready' } });

    // What onboarding wrote, as the API server stores it.
    const lib = await import('@kubernetes/client-node');
    const custom = cluster.kc.makeApiClient(lib.CustomObjectsApi);
    const instance = (await custom.getClusterCustomObject({
      group: 'rudder.dev',
      version: 'v1alpha1',
      plural: 'rudderinstances',
      name: 'acme',
    })) as RudderInstance & k8s.KubernetesObject;
    expect(instance.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'rudder-controlplane',
      'rudder.dev/tenant': 'acme',
    });
    expect(instance.spec).toMatchObject({
      tenantId: 'acme',
      controlPlane: {
        url: controlPlane.url,
        tokenSecretRef: { namespace: 'rudder-system', name: 'acme-dataplane-token', key: 'token' },
      },
      dataPlane: { image: 'registry.test/rudder/dataplane:e2e', replicas: 1, partitions: 64 },
      database: { managed: {} },
    });
    const managers = (instance.metadata as k8s.V1ObjectMeta).managedFields?.map(
      (m) => `${m.manager}/${m.operation}`,
    );
    expect(managers).toEqual(expect.arrayContaining(['rudder-controlplane/Apply', 'rudder-operator/Apply']));

    const core = cluster.kc.makeApiClient(lib.CoreV1Api);
    const secret = await core.readNamespacedSecret({
      name: 'acme-dataplane-token',
      namespace: 'rudder-system',
    });
    const dataplaneToken = Buffer.from(secret.data!.token!, 'base64').toString('utf8');
    expect(dataplaneToken).toMatch(/^rdr_dp_/);
    const hash = createHash('sha256').update(dataplaneToken).digest();
    const stored = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${controlPlane.database.schema}.dataplane_tokens WHERE tenant_id = 'acme' AND token_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    expect(stored.rows[0]!.n).toBe(1);
    expect(readFileSync(controlPlane.proc.logFile, 'utf8')).not.toContain(dataplaneToken);
    expect(await controlPlane.api('GET', '/v1/tenants/acme/instance', token)).toMatchObject({
      status: 'ready',
    });

    // A source, a webhook to the sink and their connection, through the API.
    const ws = (
      await controlPlane.api<{ workspaces: { id: string }[] }>('GET', '/v1/tenants/acme/workspaces', token)
    ).workspaces[0]!.id;
    const base = `/v1/tenants/acme/workspaces/${ws}`;
    const source = await controlPlane.api<{ id: string; writeKey: string }>(
      'POST',
      `${base}/sources`,
      token,
      {
        name: 'web',
      },
    );
    const destination = await controlPlane.api<{ id: string }>('POST', `${base}/destinations`, token, {
      name: 'sink',
      type: 'webhook',
      config: { url: `${sink.url}/acme`, method: 'POST', batching: false },
    });
    await controlPlane.api('POST', `${base}/connections`, token, {
      sourceId: source.id,
      destinationId: destination.id,
    });

    // The gateway Service of the tenant namespace, served by a local data-plane process.
    const gateway = kubelet.serviceUrl('rudder-acme', 'gateway');
    // Events accepted before the gateway's config has the connection are, rightly, delivered nowhere;
    // so send a new event every half second until one arrives (config changes reach pods within seconds).
    const sent: string[] = [];
    const delivered = await waitFor(
      'an event sent to the gateway Service to reach the sink',
      async () => {
        const messageId = `e2e-${randomBytes(6).toString('hex')}`;
        const res = await fetch(`${gateway}/v1/track`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ userId: 'u1', event: 'Signed Up', messageId }),
        });
        if (res.ok) sent.push(messageId);
        return sink.events().find((e) => sent.includes((e as { messageId: string }).messageId));
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n--- worker:\n${kubelet.podLogs('rudder-acme', 'worker-0').slice(-4000)}`,
      );
    });
    expect(delivered).toMatchObject({ userId: 'u1', event: 'Signed Up', type: 'track' });
    expect(sink.received.every((r) => r.path === '/acme')).toBe(true);
  }, 300_000);
});
