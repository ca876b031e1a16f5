import type { V1Deployment, V1PodDisruptionBudget, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import {
  CONFIG_HASH_ANNOTATION,
  DEFAULT_GATEWAY_RESOURCES,
  DEFAULT_WORKER_RESOURCES,
  desiredObjects,
  workerSelector,
} from './index.ts';
import { container, find, makeInput } from './test-fixtures.ts';

const envNames = (c: ReturnType<typeof container>) => (c.env ?? []).map((e) => e.name);
const COMMON_ENV = [
  'RUDDER_ROLE',
  'HOST',
  'PORT',
  'ADMIN_HOST',
  'ADMIN_PORT',
  'ADMIN_TOKEN',
  'DATABASE_URL',
  'CONTROL_PLANE_URL',
  'CONTROL_PLANE_TOKEN_FILE',
  'PARTITIONS',
  'LOG_LEVEL',
  'POD_NAME',
  'POD_NAMESPACE',
];

describe('data plane workloads', () => {
  const objects = desiredObjects(makeInput());
  const gateway = container(objects, 'Deployment', 'gateway');
  const worker = container(objects, 'StatefulSet', 'worker');

  it('gives gateway and worker every variable of the data-plane config contract', () => {
    expect(envNames(gateway).sort()).toEqual([...COMMON_ENV].sort());
    expect(envNames(worker).sort()).toEqual(
      [...COMMON_ENV, 'WORKER_ID', 'PARTITION_MAP_SOURCE', 'PARTITION_MAP_CONFIGMAP'].sort(),
    );
    const env = Object.fromEntries(worker.env!.map((e) => [e.name, e]));
    expect(env.RUDDER_ROLE?.value).toBe('worker');
    expect(env.HOST?.value).toBe('0.0.0.0');
    expect(env.PORT?.value).toBe('8080');
    expect(env.ADMIN_PORT?.value).toBe('8081');
    expect(env.ADMIN_TOKEN?.valueFrom).toEqual({ secretKeyRef: { name: 'admin-token', key: 'token' } });
    expect(env.DATABASE_URL?.valueFrom).toEqual({ secretKeyRef: { name: 'database-url', key: 'url' } });
    expect(env.CONTROL_PLANE_URL?.value).toBe('http://controlplane.rudder-system.svc.cluster.local:8070');
    expect(env.CONTROL_PLANE_TOKEN_FILE?.value).toBe('/var/run/secrets/rudder/dataplane-token/token');
    expect(env.PARTITIONS?.value).toBe('64');
    expect(env.LOG_LEVEL?.value).toBe('info');
    expect(env.POD_NAME?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.PARTITION_MAP_CONFIGMAP?.value).toBe('partition-map');
    expect(env.POD_NAMESPACE?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(gateway.env!.find((e) => e.name === 'RUDDER_ROLE')?.value).toBe('gateway');
  });

  it('tells workers who they are and to follow the partition map in the Kubernetes API', () => {
    const env = Object.fromEntries(worker.env!.map((e) => [e.name, e]));
    // worker-N: the ordinal the map assigns partitions to, and the worker's key in partition-status.
    expect(env.WORKER_ID?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.PARTITION_MAP_SOURCE?.value).toBe('kubernetes');
    // Gateways own no partitions.
    expect(envNames(gateway)).not.toEqual(expect.arrayContaining(['WORKER_ID']));
    expect(envNames(gateway)).not.toEqual(expect.arrayContaining(['PARTITION_MAP_SOURCE']));
  });

  it('mounts the data-plane token read-only where CONTROL_PLANE_TOKEN_FILE points', () => {
    const template = find<V1StatefulSet>(objects, 'StatefulSet', 'worker').spec!.template.spec!;
    expect(worker.volumeMounts).toContainEqual({
      name: 'dataplane-token',
      mountPath: '/var/run/secrets/rudder/dataplane-token',
      readOnly: true,
    });
    expect(template.volumes?.find((v) => v.name === 'dataplane-token')?.secret?.secretName).toBe(
      'dataplane-token',
    );
    expect(template.serviceAccountName).toBe('rudder-dataplane');
  });

  it('takes image, pull policy, replicas, partitions, log level and resources from the spec', () => {
    const custom = desiredObjects(
      makeInput({
        dataPlane: {
          image: 'registry.example/dp:9',
          imagePullPolicy: 'Always',
          replicas: 5,
          gatewayReplicas: 3,
          partitions: 256,
          logLevel: 'debug',
          workerResources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: 4, memory: '8Gi' } },
          gatewayResources: { requests: { cpu: '3' } },
        },
      }),
    );
    const deployment = find<V1Deployment>(custom, 'Deployment', 'gateway');
    const statefulSet = find<V1StatefulSet>(custom, 'StatefulSet', 'worker');
    expect(deployment.spec!.replicas).toBe(3);
    expect(statefulSet.spec!.replicas).toBe(5);
    const w = container(custom, 'StatefulSet', 'worker');
    const g = container(custom, 'Deployment', 'gateway');
    expect([w.image, g.image, w.imagePullPolicy]).toEqual([
      'registry.example/dp:9',
      'registry.example/dp:9',
      'Always',
    ]);
    expect(w.env!.find((e) => e.name === 'PARTITIONS')?.value).toBe('256');
    expect(g.env!.find((e) => e.name === 'LOG_LEVEL')?.value).toBe('debug');
    expect(w.resources).toEqual({
      requests: { cpu: '2', memory: '4Gi' },
      limits: { cpu: '4', memory: '8Gi' },
    });
    // A request above the default limit raises the limit with it.
    expect(g.resources).toEqual({
      requests: { cpu: '3', memory: DEFAULT_GATEWAY_RESOURCES.requests.memory },
      limits: { cpu: '3', memory: DEFAULT_GATEWAY_RESOURCES.limits.memory },
    });
  });

  it("gives the worker StatefulSet the replicas of the handoff plan, the spec's when there is none", () => {
    const replicas = (input: ReturnType<typeof makeInput>) =>
      find<V1StatefulSet>(desiredObjects(input), 'StatefulSet', 'worker').spec!.replicas;
    const input = makeInput({ dataPlane: { image: 'x:1', replicas: 2 } });
    expect(replicas(input)).toBe(2);
    // Scaling 5 -> 2: the leaving workers stay until they released their partitions.
    expect(replicas({ ...input, workerReplicas: 5 })).toBe(5);
    expect(replicas({ ...input, workerReplicas: 0 })).toBe(0);
  });

  it('falls back to the exported default resources', () => {
    expect(gateway.resources).toEqual(DEFAULT_GATEWAY_RESOURCES);
    expect(worker.resources).toEqual(DEFAULT_WORKER_RESOURCES);
  });

  it('rolls the gateway without losing capacity and runs workers in parallel with stable names', () => {
    const deployment = find<V1Deployment>(objects, 'Deployment', 'gateway').spec!;
    expect(deployment.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    expect(deployment.template.spec!.terminationGracePeriodSeconds).toBe(30);
    expect(gateway.readinessProbe?.httpGet).toMatchObject({ path: '/ready', port: 8080 });
    expect(gateway.livenessProbe?.httpGet).toMatchObject({ path: '/health', port: 8080 });
    const statefulSet = find<V1StatefulSet>(objects, 'StatefulSet', 'worker').spec!;
    expect(statefulSet.serviceName).toBe('worker');
    expect(statefulSet.podManagementPolicy).toBe('Parallel');
    expect(statefulSet.template.spec!.terminationGracePeriodSeconds).toBe(60);
    expect(worker.readinessProbe?.httpGet).toMatchObject({ path: '/health', port: 8081 });
  });

  it('selects worker pods with the selector the scale subresource reports', () => {
    const selector = find<V1StatefulSet>(objects, 'StatefulSet', 'worker').spec!.selector.matchLabels!;
    const asString = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    expect(workerSelector('acme')).toBe(asString);
    expect(workerSelector('acme')).toBe(
      'app.kubernetes.io/name=rudder-dataplane,app.kubernetes.io/instance=acme,app.kubernetes.io/component=worker',
    );
    const template = find<V1StatefulSet>(objects, 'StatefulSet', 'worker').spec!.template;
    expect(template.metadata?.labels).toMatchObject(selector);
  });

  it('exposes the gateway on port 80 and the admin API on 8081; workers behind a headless Service', () => {
    expect(find<V1Service>(objects, 'Service', 'gateway').spec!.ports).toEqual([
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
      { name: 'admin', port: 8081, targetPort: 'admin', protocol: 'TCP' },
    ]);
    const workers = find<V1Service>(objects, 'Service', 'worker').spec!;
    expect(workers.clusterIP).toBe('None');
    expect(workers.ports).toEqual([{ name: 'admin', port: 8081, targetPort: 'admin', protocol: 'TCP' }]);
    for (const name of ['gateway', 'worker'])
      expect(find<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', name).spec!.maxUnavailable).toBe(1);
  });

  it('changes the config hash when a secret the pods read at start changes, and only then', () => {
    const hashOf = (input: ReturnType<typeof makeInput>) =>
      desiredObjects(input)
        .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
        .filter((o) => o.metadata?.name !== 'postgres')
        .map((o) => (o as V1Deployment).spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]);
    const [gatewayHash, workerHash] = hashOf(makeInput());
    expect(gatewayHash).toMatch(/^[0-9a-f]{64}$/);
    expect(workerHash).toBe(gatewayHash);
    expect(hashOf(makeInput())).toEqual([gatewayHash, gatewayHash]);
    expect(hashOf(makeInput({}, { adminToken: 'rotated' }))[0]).not.toBe(gatewayHash);
    expect(hashOf(makeInput({}, { dataplaneToken: 'rotated' }))[0]).not.toBe(gatewayHash);
    expect(hashOf(makeInput({}, { dataplaneToken: undefined }))[0]).not.toBe(gatewayHash);
    expect(hashOf(makeInput({}, { postgresPassword: 'rotated' }))[0]).not.toBe(gatewayHash);
    expect(hashOf(makeInput({ dataPlane: { image: 'other:1', replicas: 7 } }))[0]).toBe(gatewayHash);
  });
});
