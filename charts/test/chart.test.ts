import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/**
 * The Helm chart rendered by a real helm (the one scripts/kube-bins.sh
 * builds): it lints, renders with in-chart and with external Postgres/Redis,
 * every object carries the recommended labels, every pod meets the
 * `restricted` Pod Security Standard, and the CRD is the repository's.
 * Whether an API server accepts the manifests is e2e/'s question.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'charts', 'rudder');

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }[];
  securityContext?: SecurityContext;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface PodSpec {
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

const RELEASE = 't';
const NAMESPACE = 'rudder-system';
const EXTERNAL = [
  'postgresql.enabled=false',
  'redis.enabled=false',
  'externalDatabase.url=postgres://rudder:secret@db.example.com:5432/rudder',
  'externalRedis.url=redis://:secret@redis.example.com:6379/0',
].join(',');

let helm: string;

async function helmRun(args: string[]): Promise<string> {
  const { stdout } = await run(helm, args, { cwd: root, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

/** `helm template` of the chart, parsed into objects. */
async function render(set?: string): Promise<KubeObject[]> {
  const args = ['template', RELEASE, chart, '-n', NAMESPACE, ...(set ? ['--set', set] : [])];
  const docs = parseAllDocuments(await helmRun(args));
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return docs.map((doc) => doc.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
}

function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function podTemplate(o: KubeObject): { labels: Record<string, string>; spec: PodSpec } | undefined {
  const template = (o.spec as { template?: { metadata: { labels: Record<string, string> }; spec: PodSpec } })
    ?.template;
  return template && { labels: template.metadata.labels, spec: template.spec };
}

function envOf(container: Container): Record<string, string | Record<string, Record<string, string>>> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom ?? '']));
}

/** The `restricted` Pod Security Standard's checks, as a list of violations. */
function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const podCtx = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('host namespaces');
  for (const v of pod.volumes ?? []) if ('hostPath' in v) problems.push(`hostPath volume ${String(v.name)}`);
  if (podCtx.runAsUser === 0) problems.push('pod runAsUser 0');
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot`);
    if (ctx.runAsUser === 0) problems.push(`${where}: runAsUser 0`);
    const seccomp = (ctx.seccompProfile ?? podCtx.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${where}: seccomp ${seccomp}`);
    if (ctx.privileged) problems.push(`${where}: privileged`);
    if (ctx.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation`);
    if (!ctx.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities not dropped`);
    for (const cap of ctx.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') problems.push(`${where}: adds ${cap}`);
    // Not part of the standard, but every container of the chart runs on a read-only root.
    if (ctx.readOnlyRootFilesystem !== true) problems.push(`${where}: writable root filesystem`);
  }
  return problems;
}

beforeAll(async () => {
  // Prints the folder at once when the binaries are built (CI builds them first).
  const { stdout } = await run('bash', [join(root, 'scripts', 'kube-bins.sh')], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  helm = join(stdout.trim().split('\n').pop() ?? '', 'helm');
}, 45 * 60_000);

describe('the rudder chart', () => {
  test.each([
    ['default values', undefined],
    ['external Postgres and Redis', EXTERNAL],
    [
      'every optional object',
      'operator.serviceMonitor.enabled=true,controlplane.serviceMonitor.enabled=true,' +
        'controlplane.ingress.enabled=true,controlplane.ingress.tlsSecretName=tls,controlplane.replicas=2',
    ],
  ])('passes helm lint --strict with %s', async (_name, set) => {
    const out = await helmRun(['lint', chart, '--strict', '-n', NAMESPACE, ...(set ? ['--set', set] : [])]);
    expect(out).toContain('0 chart(s) failed');
  });

  test('renders the operator, the control plane, Postgres and Redis by default', async () => {
    const objects = await render();
    const operator = podTemplate(find(objects, 'Deployment', 't-rudder-operator'))!;
    expect((find(objects, 'Deployment', 't-rudder-operator').spec as { replicas: number }).replicas).toBe(2);
    const operatorEnv = envOf(operator.spec.containers[0]!);
    expect(operatorEnv).toMatchObject({
      OPERATOR_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      LEADER_ELECTION: 'true',
      LEASE_NAME: 'rudder-operator',
      METRICS_HOST: '0.0.0.0',
      METRICS_PORT: '8090',
      WORKERS: '4',
      // Heap bounds that keep the operator inside its 256Mi limit (make bench measures it with them).
      NODE_OPTIONS: '--max-old-space-size=160 --max-semi-space-size=8',
    });

    const cp = podTemplate(find(objects, 'Deployment', 't-rudder-controlplane'))!;
    // Tenant NetworkPolicies let data planes reach pods with exactly these labels.
    expect(cp.labels).toMatchObject({
      'app.kubernetes.io/name': 'rudder',
      'app.kubernetes.io/component': 'controlplane',
    });
    expect(envOf(cp.spec.containers[0]!)).toMatchObject({
      KUBERNETES: 'kubeconfig',
      PUBLIC_URL: 'http://t-rudder-controlplane.rudder-system.svc.cluster.local:8070',
      SYSTEM_NAMESPACE: NAMESPACE,
      DATAPLANE_IMAGE: 'ghcr.io/rudder/dataplane:0.1.0',
      REFRESH_TOKEN_TTL_SECONDS: '2592000',
      DATABASE_URL: { secretKeyRef: { name: 't-rudder-postgresql', key: 'url' } },
      REDIS_URL: { secretKeyRef: { name: 't-rudder-redis', key: 'url' } },
      JWT_SECRET: { secretKeyRef: { name: 't-rudder-controlplane', key: 'jwt-secret' } },
    });

    const jwt = find(objects, 'Secret', 't-rudder-controlplane') as unknown as {
      data: Record<string, string>;
    };
    expect(Buffer.from(jwt.data['jwt-secret']!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    const pg = find(objects, 'Secret', 't-rudder-postgresql') as unknown as { data: Record<string, string> };
    const password = Buffer.from(pg.data['password']!, 'base64').toString();
    expect(Buffer.from(pg.data['url']!, 'base64').toString()).toBe(
      `postgres://rudder:${password}@t-rudder-postgresql.rudder-system.svc:5432/rudder`,
    );
    find(objects, 'StatefulSet', 't-rudder-postgresql');
    find(objects, 'StatefulSet', 't-rudder-redis');
  });

  test('with external Postgres and Redis, renders neither and reads their URLs from a Secret', async () => {
    const objects = await render(EXTERNAL);
    expect(objects.filter((o) => o.kind === 'StatefulSet')).toEqual([]);
    expect(
      objects.filter((o) => /postgresql|redis/.test(o.metadata.name)).map((o) => o.metadata.name),
    ).toEqual([]);
    const cp = podTemplate(find(objects, 'Deployment', 't-rudder-controlplane'))!;
    expect(cp.spec.initContainers ?? []).toEqual([]);
    expect(envOf(cp.spec.containers[0]!)).toMatchObject({
      DATABASE_URL: { secretKeyRef: { name: 't-rudder-controlplane', key: 'database-url' } },
      REDIS_URL: { secretKeyRef: { name: 't-rudder-controlplane', key: 'redis-url' } },
    });
    const secret = find(objects, 'Secret', 't-rudder-controlplane') as unknown as {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data['database-url']!, 'base64').toString()).toBe(
      'postgres://rudder:secret@db.example.com:5432/rudder',
    );
  });

  test('refuses disabled Postgres without an external database', async () => {
    await expect(render('postgresql.enabled=false')).rejects.toThrow(/externalDatabase\.url/);
  });

  test.each([
    ['default values', undefined],
    ['external Postgres and Redis', EXTERNAL],
  ])('puts the recommended labels on every object (%s)', async (_name, set) => {
    const objects = await render(set);
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) {
      expect({ object: `${o.kind}/${o.metadata.name}`, labels: o.metadata.labels }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        labels: expect.objectContaining({
          'app.kubernetes.io/name': 'rudder',
          'app.kubernetes.io/instance': RELEASE,
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/component': expect.stringMatching(/^(operator|controlplane|postgresql|redis)$/),
          'app.kubernetes.io/part-of': 'rudder',
          'app.kubernetes.io/managed-by': 'Helm',
          'helm.sh/chart': 'rudder-0.1.0',
        }),
      });
      const pod = podTemplate(o);
      if (pod)
        expect(pod.labels).toMatchObject({
          'app.kubernetes.io/component': o.metadata.labels?.['app.kubernetes.io/component'],
        });
    }
  });

  test.each([
    ['default values', undefined],
    ['external Postgres and Redis', EXTERNAL],
    ['no persistence', 'postgresql.persistence.enabled=false,redis.persistence.enabled=false'],
  ])('runs every pod under the restricted Pod Security Standard (%s)', async (_name, set) => {
    const pods = (await render(set)).flatMap((o) => {
      const pod = podTemplate(o);
      return pod
        ? [{ object: `${o.kind}/${o.metadata.name}`, problems: restrictedViolations(pod.spec) }]
        : [];
    });
    expect(pods.length).toBeGreaterThanOrEqual(2);
    expect(pods).toEqual(pods.map(({ object }) => ({ object, problems: [] })));
  });

  test('grants no wildcard and only what the operator and control plane use', async () => {
    const objects = await render();
    for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role'))
      for (const rule of o.rules ?? [])
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
    const cpRules = find(objects, 'ClusterRole', 't-rudder-controlplane').rules;
    expect(cpRules).toEqual([
      {
        apiGroups: ['rudder.dev'],
        resources: ['rudderinstances'],
        verbs: ['get', 'list', 'watch', 'create', 'patch'],
      },
    ]);
    const operatorRules = find(objects, 'ClusterRole', 't-rudder-operator').rules!;
    const verbs = (group: string, resource: string): string[] =>
      operatorRules
        .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .flatMap((r) => r.verbs);
    expect(verbs('rudder.dev', 'rudderinstances')).not.toContain('create');
    expect(verbs('', 'persistentvolumeclaims')).toEqual(['get', 'list', 'watch']);
    // Worker autoscaling: the pool (its status, never its scale: the HPA controller's role scales it) and the HPA.
    expect(verbs('rudder.dev', 'workerpools')).toEqual(['get', 'list', 'watch', 'create', 'patch', 'delete']);
    expect(verbs('rudder.dev', 'workerpools/status')).toEqual(['patch']);
    expect(verbs('rudder.dev', 'workerpools/scale')).toEqual([]);
    expect(verbs('autoscaling', 'horizontalpodautoscalers')).toEqual([
      'list',
      'watch',
      'create',
      'patch',
      'delete',
    ]);
    // The operator writes Roles granting configmaps get/list/watch: it must hold them itself.
    expect(verbs('', 'configmaps')).toEqual(expect.arrayContaining(['get', 'list', 'watch']));
    expect(find(objects, 'Role', 't-rudder-operator').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['rudder-operator'],
        verbs: ['get', 'update', 'patch'],
      },
    ]);
  });

  test.each(['rudder.dev_rudderinstances.yaml', 'rudder.dev_workerpools.yaml'])(
    "ships the repository's CRD byte for byte (%s)",
    async (file) => {
      const [inChart, inRepo] = await Promise.all([
        readFile(join(chart, 'crds', file)),
        readFile(join(root, 'crds', file)),
      ]);
      expect(inChart.equals(inRepo)).toBe(true);
    },
  );

  test('ships no CRD the repository does not have', async () => {
    const [inChart, inRepo] = await Promise.all([readdir(join(chart, 'crds')), readdir(join(root, 'crds'))]);
    expect(inChart.sort()).toEqual(inRepo.filter((f) => f.endsWith('.yaml')).sort());
  });

  test('rejects values the schema does not allow', async () => {
    await expect(render('operator.replicas=notanumber')).rejects.toThrow(/operator\/replicas/);
    await expect(render('operator.nosuchvalue=1')).rejects.toThrow(/nosuchvalue/);
    await expect(render('controlplane.auth.jwtSecret=tooshort')).rejects.toThrow(/jwtSecret/);
  });
});
