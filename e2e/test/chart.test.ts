import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { waitFor } from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import { startCluster, startProcessKubelet, type Cluster, type ProcessKubelet } from '../src/index.ts';
import { startOperatorProcess, type OperatorProcess } from '../src/operator-process.ts';
import { instanceManifest, isReadyAtGeneration, tokenSecretManifest } from '../src/instance-fixtures.ts';

// The Helm chart against a real API server: everything it renders is
// accepted (server-side dry-run, so admission and schema validation run),
// and, installed for real, the operator runs on exactly the RBAC the chart
// grants it and brings an instance to Ready.

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'charts', 'rudder');
const RELEASE = 't';
const NAMESPACE = 'rudder-system';
const OPERATOR_SA = `${RELEASE}-rudder-operator`;
const EXTERNAL = [
  'postgresql.enabled=false',
  'redis.enabled=false',
  'externalDatabase.url=postgres://rudder:secret@db.example.com:5432/rudder',
  'externalRedis.url=redis://:secret@redis.example.com:6379/0',
].join(',');
const OPTIONAL =
  'controlplane.ingress.enabled=true,controlplane.ingress.tlsSecretName=tls,controlplane.replicas=2';

let cluster: Cluster;
let kubelet: ProcessKubelet | undefined;
let operator: OperatorProcess | undefined;

interface Rendered {
  kind: string;
  metadata: { name: string };
}

/** `helm template --include-crds` as YAML, with the helm that scripts/kube-bins.sh built next to kubectl. */
async function render(set?: string): Promise<string> {
  const args = [
    'template',
    RELEASE,
    chart,
    '-n',
    NAMESPACE,
    '--include-crds',
    ...(set ? ['--set', set] : []),
  ];
  const { stdout } = await run(join(cluster.binDir, 'helm'), args, {
    cwd: root,
    maxBuffer: 32 * 1024 * 1024,
  });
  return stdout;
}

function kinds(yaml: string): string[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null)
    .map((o) => `${o.kind}/${o.metadata.name}`);
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  cluster = await startCluster();
  await kubectl(['create', 'namespace', NAMESPACE]);
}, 180_000);

afterAll(async () => {
  await operator?.stop('SIGTERM').catch(() => {});
  await kubelet?.stop();
  await cluster?.stop();
}, 60_000);

describe('the rudder chart on a real API server', () => {
  test.each([
    ['default values', undefined],
    ['external Postgres and Redis', EXTERNAL],
    ['ingress and two control-plane replicas', OPTIONAL],
  ])('every rendered manifest is accepted by server-side dry-run (%s)', async (_name, set) => {
    const yaml = await render(set);
    const objects = kinds(yaml);
    expect(objects.length).toBeGreaterThan(10);
    const out = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', NAMESPACE, '-f', '-'],
      yaml,
    );
    // kubectl prints one line per object it sent: all of them, each accepted.
    const accepted = out.split('\n').filter((line) => line.includes('(server dry run)'));
    expect(accepted).toHaveLength(objects.length);
  });

  test('installed for real, the operator runs on the RBAC the chart grants it', async () => {
    await kubectl(['apply', '--server-side', '-n', NAMESPACE, '-f', '-'], await render());
    await kubectl(['wait', '--for=condition=Established', 'crd/rudderinstances.rudder.dev', '--timeout=30s']);

    // What the operator must not do, whatever it is asked.
    const as = ['--as', `system:serviceaccount:${NAMESPACE}:${OPERATOR_SA}`];
    for (const denied of [
      ['create', 'clusterroles'],
      ['create', 'pods', '-n', 'kube-system'],
      ['delete', 'rudderinstances.rudder.dev'],
      ['impersonate', 'users'],
      ['update', 'leases.coordination.k8s.io/someone-else', '-n', NAMESPACE],
    ]) {
      const r = await cluster.kubectl(['auth', 'can-i', ...denied, ...as]);
      expect(`${denied.join(' ')}: ${r.stdout.trim()}`).toBe(`${denied.join(' ')}: no`);
    }

    // A kubeconfig holding the chart's operator ServiceAccount token instead of the admin's.
    const token = (await kubectl(['create', 'token', OPERATOR_SA, '-n', NAMESPACE])).trim();
    const config = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
      users: { user: Record<string, string> }[];
    };
    for (const u of config.users) u.user = { token };
    const kubeconfig = join(cluster.dir, 'operator-sa.kubeconfig');
    writeFileSync(kubeconfig, stringify(config), { mode: 0o600 });

    kubelet = await startProcessKubelet(cluster, { run: () => 'fake' });
    operator = await startOperatorProcess(cluster, 'chart-rbac', {
      KUBECONFIG: kubeconfig,
      LEASE_NAME: 'rudder-operator',
    });
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: tokenSecretManifest('rbac', 'rdr_dp_rbac'),
    });
    await custom.createClusterCustomObject({
      group: 'rudder.dev',
      version: 'v1alpha1',
      plural: 'rudderinstances',
      body: instanceManifest('rbac', {}, 'registry.test/rudder/dataplane:rbac'),
    });
    await waitFor(
      'the instance to be Ready under the chart RBAC',
      async () =>
        isReadyAtGeneration(
          (await custom.getClusterCustomObject({
            group: 'rudder.dev',
            version: 'v1alpha1',
            plural: 'rudderinstances',
            name: 'rbac',
          })) as RudderInstance,
        ),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // Not one refusal on the way, not even one a retry got past.
    const failures = operator
      .logs()
      .split('\n')
      .filter((line) => line.includes('"reconcile failed"') || /forbidden/i.test(line));
    expect(failures).toEqual([]);
    expect(await operator.metric('rudder_operator_reconcile_errors_total')).toBe(0);
  }, 120_000);
});
