/**
 * Scaling a tenant's workers through the operator, under load: the control
 * plane onboards a tenant, the operator runs it, the process kubelet runs
 * its Postgres, gateway and workers as local processes (each worker with its
 * ServiceAccount's own token, watching the partition map and reporting into
 * `partition-status`), users send numbered events, and `kubectl scale`
 * takes the workers 1 -> 3 -> 5 -> 2 -> 1. In the middle of 3 -> 5 the
 * worker that gives away the most partitions is killed with SIGKILL and
 * restarted by the kubelet, as `dataplane/test/scaling.test.ts` does with
 * bare processes. The API server's watches tell the order things happened
 * in; the sink tells whether every acknowledged event arrived, in order per
 * user, with duplicates only where the killed worker had work in flight.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { partitionOf } from '@rudder/common';
import { computePartitionMap, type PartitionMap } from '@rudder/common/partition-map';
import {
  checkSequences,
  startPacedLoad,
  startSink,
  waitFor,
  type PacedLoad,
  type Sink,
  type LeaseRow,
} from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import {
  installCrds,
  startCluster,
  startProcessKubelet,
  type Cluster,
  type ProcessKubelet,
} from '../src/index.ts';
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
import { TenantDatabase } from '../src/tenant-database.ts';
import { WatchTimeline } from '../src/watch-timeline.ts';
import { WorkerCrash, type Crash } from '../src/worker-crash.ts';

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

/** What the operator, the kubelet and the workers said, for a failure message. */
function diagnostics(): string {
  const workers = [0, 1, 2, 3, 4]
    .map((n) => `--- worker-${n}:\n${kubelet.podLogs(NS, `worker-${n}`).slice(-3000)}`)
    .join('\n');
  const kubeletLog = logTail(join(cluster.dir, 'logs', 'process-kubelet.log'), 20);
  return `--- operator:\n${operator.logs().slice(-4000)}\n--- process kubelet:\n${kubeletLog}\n${workers}`;
}

/** `work`, its failure message followed by the diagnostics. */
async function diagnosed<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new Error(`${String(err)}\n${diagnostics()}`, { cause: err });
  }
}

/** Partitions that ordinal `o` owns in `before` and not in `after`. */
function lost(before: PartitionMap, after: PartitionMap, o: number): number {
  return before.owners.filter((owner, p) => owner === o && after.owners[p] !== o).length;
}

/** The partitions `map` assigns to ordinal `o`. */
function shareOf(map: PartitionMap, o: number): number[] {
  return map.owners.flatMap((owner, p) => (owner === o ? [p] : []));
}

beforeAll(async () => {
  cluster = await startCluster();
  core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  apps = cluster.kc.makeApiClient(k8s.AppsV1Api);
  custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(cluster);
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
  it('hands partitions over 1 -> 3 -> 5 -> 2 -> 1 workers in the protocol order, one killed with SIGKILL mid-handoff, losing and reordering nothing', async () => {
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
    const l = load;
    const db = await TenantDatabase.connect(core, kubelet, NS);
    const steps: ScaleStep[] = [];
    let revision = Math.max(...snapshot().instance.map((e) => e.revision));
    /** The load runs on at this worker count for a while. */
    const steady = () => new Promise((resolve) => setTimeout(resolve, STEADY_MS));
    /** Changes the replicas, runs `during` (a fault mid-handoff) and waits for the handoff to settle. */
    const scale = async (from: number, to: number, during?: () => Promise<void>): Promise<void> => {
      await kubectl(['scale', 'rudderinstance', TENANT, `--replicas=${to}`]);
      if (during) await diagnosed(during());
      await diagnosed(waitSettled(to, 60_000));
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
    let crash: Crash | undefined;
    try {
      await steady();
      await scale(1, 3);
      // With three workers settled, each reports exactly its share of the map, written as itself.
      const three = await expectReportsAsMapped(3);
      const status = await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-status' });
      for (const ordinal of [0, 1, 2]) {
        const manager = status.metadata?.managedFields?.find(
          (f) => f.manager === `rudder-worker-worker-${ordinal}`,
        );
        expect(JSON.stringify(manager?.fieldsV1)).toContain(`"f:worker-${ordinal}"`);
      }

      // 3 -> 5, and the worker that gives away the most partitions dies in the middle of it.
      await steady();
      const five = computePartitionMap(three, three.partitions, 5);
      const victim = [0, 1, 2].sort((a, b) => lost(three, five, b) - lost(three, five, a))[0]!;
      const deps = { core, kubelet, db, namespace: NS, reports: () => watched.reports.entries() };
      const worker = await diagnosed(WorkerCrash.prepare(deps, victim, three));
      await scale(3, 5, async () => {
        await worker.freeze();
        await worker.killMidHandoff();
        crash = await worker.restarted();
      });
      // It held its share when it froze; the kubelet restarted its container as a kubelet does after a kill -9.
      const c = crash!;
      expect(c.held).toEqual(shareOf(three, victim));
      expect(c.container.lastState?.terminated).toMatchObject({ exitCode: 137 });
      expect(c.successor).not.toBe(c.incarnation);
      await expectReportsAsMapped(5);
      // Its partitions went to their new owners (and the ones it keeps to its successor) only once its leases had
      // expired, never while it might still have committed.
      const leases = await expectLeasesAsMapped();
      for (const p of c.held) {
        const row = leases.find((x) => x.partition === p)!;
        expect(row.owner).not.toBe(`worker-${victim}/${c.incarnation}`);
        expect(row.acquiredAt!.getTime()).toBeGreaterThanOrEqual(c.expiry.get(p)!);
      }

      await steady();
      await scale(5, 2);
      await steady();
      await scale(2, 1);
      await steady();
    } finally {
      await l.stop();
    }
    const loadSeconds = (Date.now() - loadStarted) / 1000;

    // Every acknowledged event arrives, in order per user.
    const acked = l.acked;
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
    const report = checkSequences(ofLoad(), acked, l.sent);
    // Deliveries per second at the sink while the load ran: does it ever stall?
    const perSecond = new Array<number>(Math.floor(loadSeconds)).fill(0);
    for (const r of sink.received) {
      const second = Math.floor((r.at - loadStarted) / 1000);
      if (second >= 0 && second < perSecond.length) perSecond[second]! += 1;
    }
    const k = crash!;
    const { partitions } = mapOf(
      await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' }),
    )!;
    // The in-flight window, as in dataplane/test/scaling.test.ts. A duplicate is a delivery the sink accepted in a
    // router round whose commit never happened: only the killed worker's last round, since graceful handoffs commit
    // before they release. That round read at most ROUTER_JOBS_PER_PARTITION fresh jobs per partition it held, plus
    // the waiting (retrying or held) jobs of those partitions, each redelivered at most once by the next owner.
    // Besides, an event a client sent again after getting no answer may have been stored twice by the gateway.
    const bound = k.held.length * k.jobsPerPartition + k.waitingJobs + l.resentEvents;
    const stray = report.duplicated.filter(
      (id) => !l.resent.has(id) && !k.held.includes(partitionOf(l.sent.get(id)!.user, partitions)),
    );
    console.log(
      `load: ${l.sent.size} events sent, ${acked.size} acknowledged, ${l.resentEvents} resent ` +
        `(${JSON.stringify(l.outcomes())}); sink: ${report.arrivals} arrivals, ${report.unique} unique, ` +
        `${report.duplicates} duplicates of ${report.duplicated.length} events (bound ${bound}: worker-${k.ordinal} ` +
        `killed holding ${k.held.length} partitions x ${k.jobsPerPartition} jobs, ${k.waitingJobs} waiting jobs, ` +
        `${l.resentEvents} resent), ${report.users} users over ${loadSeconds.toFixed(1)} s; ` +
        `sink deliveries/s min ${Math.min(...perSecond)} max ${Math.max(...perSecond)} ` +
        `[${perSecond.join(' ')}]; epochs ${epochs.join(' -> ')}; ` +
        `${Math.round((Date.now() - testStarted) / 1000)} s since onboarding`,
    );
    console.log(`crash of worker-${k.ordinal}: ${k.timeline.join(', ')}`);
    expect(report.missing).toEqual([]);
    expect(report.orderViolations).toEqual([]);
    expect(report.unknown).toBe(0);
    expect(report.users).toBe(USERS);
    expect(report.duplicates).toBeLessThanOrEqual(bound);
    expect(stray).toEqual([]);
    // The load kept going throughout: at least half of what was offered was acknowledged.
    expect(acked.size).toBeGreaterThan(EVENTS_PER_SECOND * loadSeconds * 0.5);

    // The order of the handoff, as the API server saw it.
    for (const step of steps) expect(step.violations).toEqual([]);
    expect(steps.map((s) => s.to)).toEqual([3, 5, 2, 1]);
    const [up, upCrash, down, last] = steps as [ScaleStep, ScaleStep, ScaleStep, ScaleStep];
    // Up: the StatefulSet grows, the status waits for the new workers, then the map moves and settles.
    const seen = (step: ScaleStep, line: string): boolean => step.phases.some((p) => p.startsWith(line));
    for (const [step, before] of [
      [up, epochs[0]],
      [upCrash, up.epoch],
    ] as const) {
      expect(step.statefulSet[0]).toMatchObject({ replicas: step.to });
      expect(step.statefulSet[0]!.revision).toBeLessThan(step.mapRevision);
      expect(seen(step, `${before}/ScalingUp/`)).toBe(true);
      expect(seen(step, `${step.epoch}/HandingOff/`)).toBe(true);
      expect(step.phases[step.phases.length - 1]).toBe(`${step.epoch}/Settled/${step.to} of ${step.to}`);
    }
    // The killed worker's successor had not reported yet: nothing the dead one said may settle the new epoch.
    // (From before the kill, which is stricter: the frozen worker never acted on the new map either.)
    const early = snapshot().instance.filter((e) => {
      const p = e.object.status?.partitionMap;
      return (
        e.revision > k.acquiringRevision &&
        e.revision < k.successorRevision &&
        p?.epoch === upCrash.epoch &&
        p.phase === 'Settled'
      );
    });
    expect(early.map((e) => e.revision)).toEqual([]);
    // Down: the map moves first, the StatefulSet keeps the leaving workers until they let go of everything.
    for (const step of [down, last]) {
      expect(step.mapRevision).toBeLessThan(step.statefulSet[0]!.revision);
      expect(step.statefulSet[step.statefulSet.length - 1]!.replicas).toBe(step.to);
      expect(seen(step, `${step.epoch}/ScalingDown/`)).toBe(true);
      expect(step.phases[step.phases.length - 1]).toBe(`${step.epoch}/Settled/${step.to} of ${step.to}`);
    }
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(new Set(epochs).size).toBe(5);
    // The leaving workers' last reports say they hold nothing at the epoch that moved everything off them.
    const final = reportsOf(await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-status' }));
    expect(final.get('worker-0')).toMatchObject({
      epoch: last.epoch,
      settled: true,
      held: [...Array(partitions).keys()],
    });
    const released = { held: [], releasing: [], acquiring: [] };
    expect(final.get('worker-1')).toMatchObject({ epoch: last.epoch, ...released });
    for (const ordinal of [2, 3, 4])
      expect(final.get(`worker-${ordinal}`)).toMatchObject({ epoch: down.epoch, ...released });

    /** Every map owner reports exactly its share at the map's epoch; returns the map. */
    async function expectReportsAsMapped(workers: number): Promise<PartitionMap> {
      const map = mapOf(await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' }))!;
      expect(map.replicas).toBe(workers);
      const reports = reportsOf(
        await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-status' }),
      );
      for (let ordinal = 0; ordinal < workers; ordinal++)
        expect(reports.get(`worker-${ordinal}`)).toMatchObject({
          epoch: map.epoch,
          settled: true,
          held: shareOf(map, ordinal),
        });
      return map;
    }

    /** A settled map is what Postgres holds: every partition leased, unexpired, by the worker the map names. */
    async function expectLeasesAsMapped(): Promise<LeaseRow[]> {
      const map = mapOf(await core.readNamespacedConfigMap({ namespace: NS, name: 'partition-map' }))!;
      const leases = await db.leases();
      expect(leases.map((row) => [row.partition, row.live, row.owner?.split('/')[0]])).toEqual(
        map.owners.map((o, p) => [p, true, `worker-${o}`]),
      );
      return leases;
    }
  }, 180_000);
});
