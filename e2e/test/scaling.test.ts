/**
 * Scaling a tenant's workers through the operator, under load: the control
 * plane onboards a tenant, the operator runs it, the process kubelet runs
 * its Postgres, gateway and workers as local processes (each worker with its
 * ServiceAccount's own token, watching the partition map and reporting into
 * `partition-status`), users send numbered events, and `kubectl scale`
 * takes the workers 1 -> 3 -> 2 -> 1. The API server's watches tell the
 * order things happened in; the sink tells whether every acknowledged event
 * arrived, in order per user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  checkSequences,
  startPacedLoad,
  startSink,
  waitFor,
  type PacedLoad,
  type Sink,
} from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import { startCluster, startProcessKubelet, type Cluster, type ProcessKubelet } from '../src/index.ts';
import { startControlPlaneProcess, type ControlPlaneProcess } from '../src/control-plane-process.ts';
import {
  mapOf,
  reportsOf,
  scaleStep,
  type HandoffTimelines,
  type ScaleStep,
} from '../src/handoff-timeline.ts';
import { startOperatorProcess, type OperatorProcess } from '../src/operator-process.ts';
import { logTail } from '../src/processes.ts';
import { WatchTimeline } from '../src/watch-timeline.ts';

const CRD = new URL('../../crds/rudder.dev_rudderinstances.yaml', import.meta.url);
const TENANT = 'acme';
const NS = `rudder-${TENANT}`;
const SERVICE_ACCOUNT = 'rudder-dataplane';
const USERS = 300;
const EVENTS_PER_SECOND = 200;
/** The load runs this long at each worker count before the next change. */
const STEADY_MS = 5000;
type Instance = RudderInstance & k8s.KubernetesObject;

let cluster: Cluster;
let kubelet: ProcessKubelet;
let operator: OperatorProcess;
let controlPlane: ControlPlaneProcess;
let sink: Sink;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;
let load: PacedLoad | undefined;
const timelines: { stop(): void }[] = [];

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function getInstance(): Promise<Instance> {
  return (await custom.getClusterCustomObject({
    group: 'rudder.dev',
    version: 'v1alpha1',
    plural: 'rudderinstances',
    name: TENANT,
  })) as Instance;
}

/** Waits for `.status.partitionMap` to say Settled with `workers` settled workers, and the StatefulSet to match. */
async function waitSettled(workers: number, timeoutMs: number): Promise<Instance> {
  return waitFor(
    `the partition map to settle on ${workers} worker(s)`,
    async () => {
      const i = await getInstance();
      const p = i.status?.partitionMap;
      if (p?.phase !== 'Settled' || p.workers !== workers || p.settledWorkers !== workers) return undefined;
      const sts = await apps.readNamespacedStatefulSet({ namespace: NS, name: 'worker' });
      return sts.spec?.replicas === workers && sts.status?.replicas === workers ? i : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** What the operator and the workers said, for a failure message. */
function diagnostics(): string {
  const workers = [0, 1, 2]
    .map((n) => `--- worker-${n}:\n${kubelet.podLogs(NS, `worker-${n}`).slice(-3000)}`)
    .join('\n');
  return `--- operator:\n${operator.logs().slice(-4000)}\n${workers}`;
}

beforeAll(async () => {
  cluster = await startCluster();
  core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  apps = cluster.kc.makeApiClient(k8s.AppsV1Api);
  custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  await kubectl(['apply', '--server-side', '-f', '-'], readFileSync(CRD, 'utf8'));
  await kubectl(['wait', '--for=condition=Established', 'crd/rudderinstances.rudder.dev', '--timeout=30s']);
  await kubectl(['create', 'namespace', 'rudder-system']);
  sink = await startSink();
  controlPlane = await startControlPlaneProcess(cluster);
  kubelet = await startProcessKubelet(cluster, { run: () => 'process' });
  operator = await startOperatorProcess(cluster, 'op-scaling');
}, 120_000);

afterAll(async () => {
  // Each in turn whatever the others do: a failed step must not leave processes behind.
  const steps: [string, (() => Promise<unknown> | void) | undefined][] = [
    ['load', load && (() => load!.stop())],
    ['watches', () => timelines.forEach((t) => t.stop())],
    ['operator', operator && (() => operator.stop('SIGTERM'))],
    ['kubelet', kubelet && (() => kubelet.stop())],
    ['control plane', controlPlane && (() => controlPlane.stop())],
    ['sink', sink && (() => sink.close())],
    ['cluster', cluster && (() => cluster.stop())],
  ];
  const failures: string[] = [];
  for (const [what, stop] of steps) {
    try {
      await stop?.();
    } catch (err) {
      failures.push(`${what}: ${String(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(`stopping failed: ${failures.join('; ')}`);
}, 90_000);

describe('scaling a tenant through the operator under load', () => {
  it('hands partitions over 1 -> 3 -> 2 -> 1 workers in the protocol order, losing and reordering nothing', async () => {
    const testStarted = Date.now();
    const { accessToken: token } = await controlPlane.api<{ accessToken: string }>(
      'POST',
      '/v1/auth/signup',
      undefined,
      { email: 'owner@acme.test', password: 'correct horse battery staple', name: 'Owner' },
    );
    const { jobId } = await controlPlane.api<{ jobId: string }>('POST', '/v1/tenants', token, {
      id: TENANT,
      name: 'Acme',
    });
    await waitFor(
      'the onboarding job to complete (instance Ready)',
      async () => {
        const j = await controlPlane.api<{ state: string; error?: string }>(
          'GET',
          `/v1/jobs/${jobId}`,
          token,
        );
        if (j.state === 'failed') throw new Error(`onboarding failed: ${j.error}`);
        return j.state === 'completed';
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n--- control plane:\n${logTail(controlPlane.proc.logFile)}\n${diagnostics()}`,
      );
    });

    const ws = (
      await controlPlane.api<{ workspaces: { id: string }[] }>(
        'GET',
        `/v1/tenants/${TENANT}/workspaces`,
        token,
      )
    ).workspaces[0]!.id;
    const base = `/v1/tenants/${TENANT}/workspaces/${ws}`;
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
      config: { url: `${sink.url}/${TENANT}`, method: 'POST', batching: false },
    });
    await controlPlane.api('POST', `${base}/connections`, token, {
      sourceId: source.id,
      destinationId: destination.id,
    });

    const watch = async <T extends k8s.KubernetesObject>(path: string, name: string) => {
      const t = await WatchTimeline.start<T>(cluster.kc, path, `metadata.name=${name}`);
      timelines.push(t);
      return t;
    };
    const watched = {
      instance: await watch<Instance>('/apis/rudder.dev/v1alpha1/rudderinstances', TENANT),
      statefulSet: await watch<k8s.V1StatefulSet>(`/apis/apps/v1/namespaces/${NS}/statefulsets`, 'worker'),
      map: await watch<k8s.V1ConfigMap>(`/api/v1/namespaces/${NS}/configmaps`, 'partition-map'),
      reports: await watch<k8s.V1ConfigMap>(`/api/v1/namespaces/${NS}/configmaps`, 'partition-status'),
    };
    const snapshot = (): HandoffTimelines => ({
      instance: watched.instance.entries(),
      statefulSet: watched.statefulSet.entries(),
      map: watched.map.entries(),
      reports: watched.reports.entries(),
    });

    // The gateway and worker-0 have the connection once a probe event reaches the sink.
    const gateway = (): string => kubelet.serviceUrl(NS, 'gateway');
    const auth = `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`;
    let probes = 0;
    await waitFor(
      'a probe event to reach the sink',
      async () => {
        await fetch(`${gateway()}/v1/track`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({ userId: 'probe', event: 'Probe', messageId: `probe-${probes++}` }),
        });
        return sink.events().some((e) => (e as { userId?: string }).userId === 'probe');
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${diagnostics()}`);
    });
    const first = await waitSettled(1, 30_000);
    const epochs = [first.status!.partitionMap!.epoch!];

    // The worker talks to the API server as its ServiceAccount, with the Role's rights and no more.
    const podKc = new k8s.KubeConfig();
    podKc.loadFromFile(join(kubelet.podDir(NS, 'worker-0')!, 'kubeconfig'));
    const review = await podKc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${NS}:${SERVICE_ACCOUNT}`);
    const podCore = podKc.makeApiClient(k8s.CoreV1Api);
    await expect(podCore.readNamespacedSecret({ namespace: NS, name: 'admin-token' })).rejects.toMatchObject({
      code: 403,
    });
    await expect(podCore.listNamespacedConfigMap({ namespace: NS })).rejects.toMatchObject({ code: 403 });
    expect(
      mapOf(await podCore.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' })),
    ).toMatchObject({
      epoch: epochs[0],
    });
    // The gateway's pod opts out of the token: its process gets no kubeconfig.
    const gatewayPod = (
      await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=gateway' })
    ).items[0];
    expect(gatewayPod?.spec?.automountServiceAccountToken).toBe(false);
    const gatewayDir = kubelet.podDir(NS, gatewayPod!.metadata!.name!);
    expect(gatewayDir).toBeDefined();
    expect(existsSync(join(gatewayDir!, 'kubeconfig'))).toBe(false);

    const prefix = `u${Date.now().toString(36)}-`;
    const loadStarted = Date.now();
    load = startPacedLoad({
      urls: gateway,
      maxInFlight: 64,
      retryDelayMs: 100,
      requestTimeoutMs: 10_000,
      writeKey: source.writeKey,
      users: USERS,
      eventsPerSecond: EVENTS_PER_SECOND,
      eventsPerRequest: 2,
      prefix,
    });
    const steps: ScaleStep[] = [];
    let revision = Math.max(...snapshot().instance.map((e) => e.revision));
    const scale = async (from: number, to: number): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
      await kubectl(['scale', 'rudderinstance', TENANT, `--replicas=${to}`]);
      await waitSettled(to, 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${diagnostics()}`);
      });
      const step = scaleStep(snapshot(), from, to, revision);
      revision = step.settledRevision;
      steps.push(step);
      epochs.push(step.epoch);
      console.log(
        `${from} -> ${to} workers: epoch ${step.epoch}; map published after ${step.mapAfterMs} ms, ` +
          `StatefulSet ${step.statefulSet.map((s) => `-> ${s.replicas} at ${s.atMs} ms`).join(', ')}, ` +
          `Settled after ${step.settledAfterMs} ms (lastHandoffSeconds ${step.lastHandoffSeconds}); ` +
          `status: ${step.phases.join(' | ')}`,
      );
    };
    try {
      await scale(1, 3);
      // With three workers settled, each reports exactly its share of the map, written as itself.
      const map = mapOf(await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' }))!;
      const status = await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-status' });
      const reports = reportsOf(status);
      for (const ordinal of [0, 1, 2]) {
        const share = map.owners.flatMap((owner, p) => (owner === ordinal ? [p] : []));
        expect(reports.get(`worker-${ordinal}`)).toMatchObject({
          epoch: map.epoch,
          settled: true,
          held: share,
        });
        const manager = status.metadata?.managedFields?.find(
          (f) => f.manager === `rudder-worker-worker-${ordinal}`,
        );
        expect(JSON.stringify(manager?.fieldsV1)).toContain(`"f:worker-${ordinal}"`);
      }
      await scale(3, 2);
      await scale(2, 1);
      await new Promise((resolve) => setTimeout(resolve, STEADY_MS));
    } finally {
      await load.stop();
    }
    const loadSeconds = (Date.now() - loadStarted) / 1000;

    // Every acknowledged event arrives, in order per user.
    const acked = load.acked;
    const ofLoad = (): unknown[] =>
      sink.events().filter((e) => (e as { userId?: string }).userId?.startsWith(prefix) === true);
    await waitFor(
      `all ${acked.size} acknowledged events to reach the sink`,
      () => {
        const ids = new Set(ofLoad().map((e) => (e as { messageId: string }).messageId));
        return [...acked.keys()].every((id) => ids.has(id));
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => undefined); // the check below says what is missing
    const delivered = ofLoad();
    const report = checkSequences(delivered, acked, load.sent);
    // Deliveries per second at the sink while the load ran: does it ever stall?
    const perSecond = new Array<number>(Math.floor(loadSeconds)).fill(0);
    for (const r of sink.received) {
      const second = Math.floor((r.at - loadStarted) / 1000);
      if (second >= 0 && second < perSecond.length) perSecond[second]! += 1;
    }
    console.log(
      `load: ${load.sent.size} events sent, ${acked.size} acknowledged, ${load.resentEvents} resent ` +
        `(${JSON.stringify(load.outcomes())}); sink: ${report.arrivals} arrivals, ${report.unique} unique, ` +
        `${report.duplicates} duplicates, ${report.users} users over ${loadSeconds.toFixed(1)} s; ` +
        `sink deliveries/s min ${Math.min(...perSecond)} max ${Math.max(...perSecond)} ` +
        `[${perSecond.join(' ')}]; epochs ${epochs.join(' -> ')}; ` +
        `${Math.round((Date.now() - testStarted) / 1000)} s since onboarding`,
    );
    expect(report.missing).toEqual([]);
    expect(report.orderViolations).toEqual([]);
    expect(report.unknown).toBe(0);
    expect(report.users).toBe(USERS);
    // The load kept going throughout: at least half of what was offered was acknowledged.
    expect(acked.size).toBeGreaterThan(EVENTS_PER_SECOND * loadSeconds * 0.5);

    // The order of the handoff, as the API server saw it.
    for (const step of steps) expect(step.violations).toEqual([]);
    const [up, down, last] = steps as [ScaleStep, ScaleStep, ScaleStep];
    // Up: the StatefulSet grows, the status waits for the new workers, then the map moves and settles.
    expect(up.statefulSet[0]).toMatchObject({ replicas: 3 });
    expect(up.statefulSet[0]!.revision).toBeLessThan(up.mapRevision);
    const seen = (step: ScaleStep, line: string): boolean => step.phases.some((p) => p.startsWith(line));
    expect(seen(up, `${epochs[0]}/ScalingUp/1 of 1`)).toBe(true);
    expect(seen(up, `${up.epoch}/HandingOff/`)).toBe(true);
    expect(up.phases[up.phases.length - 1]).toBe(`${up.epoch}/Settled/3 of 3`);
    // Down: the map moves first, the StatefulSet keeps the leaving worker until it let go of everything.
    for (const step of [down, last]) {
      expect(step.mapRevision).toBeLessThan(step.statefulSet[0]!.revision);
      expect(step.statefulSet.map((s) => s.replicas)).toEqual([step.to]);
      expect(seen(step, `${step.epoch}/ScalingDown/`)).toBe(true);
      expect(step.phases[step.phases.length - 1]).toBe(`${step.epoch}/Settled/${step.to} of ${step.to}`);
    }
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(new Set(epochs).size).toBe(4);
    // The leaving workers' last reports say they hold nothing at the epoch that moved everything off them.
    const final = reportsOf(await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-status' }));
    const { partitions } = mapOf(
      await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' }),
    )!;
    expect(final.get('worker-0')).toMatchObject({
      epoch: last.epoch,
      settled: true,
      held: [...Array(partitions).keys()],
    });
    expect(final.get('worker-1')).toMatchObject({
      epoch: last.epoch,
      held: [],
      releasing: [],
      acquiring: [],
    });
    expect(final.get('worker-2')).toMatchObject({
      epoch: down.epoch,
      held: [],
      releasing: [],
      acquiring: [],
    });
  }, 180_000);
});
