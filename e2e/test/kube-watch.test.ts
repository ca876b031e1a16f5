/**
 * ResumableWatch (the watch under the operator's trigger watches and a
 * worker's partition map source) against a real kube-apiserver: events,
 * resuming across the server's timeouts, 410 Gone, failures, and stop().
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createLogger } from '@rudder/common';
import { computePartitionMap, type PartitionMap } from '@rudder/common/partition-map';
import { ResumableWatch, type ResumableWatchOptions, type WatchEventType } from '@rudder/common/kube-watch';
import { KubernetesMapSource, PARTITION_MAP_CONFIGMAP, PARTITION_MAP_KEY } from '@rudder/dataplane/ownership';
import { waitFor } from '@rudder/devkit';
import { startCluster, type Cluster } from '../src/index.ts';

const NAMESPACE = 'kube-watch';
/** A custom resource: the API server starts its watch cache when the CRD is created, well after resourceVersion 1. */
const WIDGETS = { group: 'kube-watch.test', version: 'v1', plural: 'widgets' };
let cluster: Cluster;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
const running: ResumableWatch<k8s.KubernetesObject>[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await cluster.kc.makeApiClient(k8s.ApiextensionsV1Api).createCustomResourceDefinition({
    body: {
      metadata: { name: `${WIDGETS.plural}.${WIDGETS.group}` },
      spec: {
        group: WIDGETS.group,
        scope: 'Namespaced',
        names: { plural: WIDGETS.plural, singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: WIDGETS.version,
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  await waitFor(
    'the Widget CRD to be served',
    async () => {
      await custom.listNamespacedCustomObject({ ...WIDGETS, namespace: NAMESPACE });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}, 180_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

interface LogLine {
  level: number;
  msg: string;
  watch?: string;
  error?: string;
  retryInMs?: number;
}

/** A started watch and everything it told its caller, in order. */
interface Watched {
  watch: ResumableWatch<k8s.KubernetesObject>;
  events: { type: WatchEventType; name: string; data: Record<string, string> | undefined }[];
  logs: LogLine[];
  lists: number;
  resyncs: number;
  errors: unknown[];
}

/** Starts a watch of the namespace's ConfigMaps with `label` (or of what `options` say), recording what it reports. */
async function startWatch(
  label: string,
  options: Partial<ResumableWatchOptions<k8s.KubernetesObject>> & { onLog?: (line: LogLine) => void } = {},
): Promise<Watched> {
  const { onLog, ...overrides } = options;
  const labelSelector = `test=${label}`;
  const logger = createLogger('kube-watch-test', {
    level: 'debug',
    destination: {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine;
        watched.logs.push(line);
        onLog?.(line);
      },
    },
  });
  const watched: Watched = {
    watch: new ResumableWatch<k8s.KubernetesObject>({
      name: label,
      watcher: new k8s.Watch(cluster.kc),
      path: `/api/v1/namespaces/${NAMESPACE}/configmaps`,
      query: { labelSelector },
      timeoutSeconds: 30,
      list: async () => {
        watched.lists++;
        return (await core.listNamespacedConfigMap({ namespace: NAMESPACE, labelSelector })).metadata
          ?.resourceVersion;
      },
      onEvent: (type, object) =>
        watched.events.push({
          type,
          name: object.metadata?.name ?? '',
          data: (object as k8s.V1ConfigMap).data,
        }),
      onResync: () => watched.resyncs++,
      onError: (err) => watched.errors.push(err),
      logger,
      ...overrides,
    }),
    events: [],
    logs: [],
    lists: 0,
    resyncs: 0,
    errors: [],
  };
  running.push(watched.watch);
  await watched.watch.start();
  return watched;
}

function configMap(name: string, label: string, data: Record<string, string>): k8s.V1ConfigMap {
  return { metadata: { name, labels: { test: label } }, data };
}

/** Merges `data` into the ConfigMap; resolves to its new resourceVersion. */
async function setData(name: string, data: Record<string, string>): Promise<string> {
  const updated = await core.patchNamespacedConfigMap(
    { namespace: NAMESPACE, name, body: { data } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  return updated.metadata?.resourceVersion ?? '';
}

describe('a resumable watch against a real API server', () => {
  it('delivers every change of the selected objects in order, and nothing about what existed before it started', async () => {
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: configMap('old', 'events', { v: '0' }),
    });
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: configMap('other', 'elsewhere', {}) });
    const w = await startWatch('events');

    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: configMap('new', 'events', { v: '1' }),
    });
    await setData('new', { v: '2' });
    await setData('other', { v: '2' });
    await core.deleteNamespacedConfigMap({ namespace: NAMESPACE, name: 'new' });
    await waitFor('the deletion to arrive', () => w.events.some((e) => e.type === 'DELETED'));

    expect(w.events).toEqual([
      { type: 'ADDED', name: 'new', data: { v: '1' } },
      { type: 'MODIFIED', name: 'new', data: { v: '2' } },
      { type: 'DELETED', name: 'new', data: { v: '2' } },
    ]);
    expect(w.lists).toBe(1);
    expect(w.errors).toEqual([]);
  });

  it('resumes from its resourceVersion each time the server ends the watch, missing and replaying no change', async () => {
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: configMap('counter', 'resume', { n: '0' }),
    });
    // Writes may overlap: the order they took effect in is the order of their resourceVersions.
    const written: { n: number; resourceVersion: bigint }[] = [];
    const failedWrites: unknown[] = [];
    let count = 0;
    const write = (): void => {
      const n = ++count;
      setData('counter', { n: String(n) }).then(
        (rv) => written.push({ n, resourceVersion: BigInt(rv) }),
        (err: unknown) => failedWrites.push(err),
      );
    };
    const w = await startWatch('resume', {
      timeoutSeconds: 2,
      // A change right as the server ends a watch, before the next one starts: only a resume
      // from the last resourceVersion seen delivers it, and delivers it once.
      onLog: (line) => {
        if (line.msg.includes('ended by the server')) write();
      },
    });
    const resumes = (): number => w.logs.filter((l) => l.msg.includes('ended by the server')).length;

    // Changes between the resumes too, until the server has ended the watch three times.
    await waitFor(
      'three watches ended by the server',
      async () => {
        write();
        await new Promise((r) => setTimeout(r, 100));
        return resumes() >= 3;
      },
      { timeoutMs: 30_000, intervalMs: 0 },
    );
    await waitFor('every write to be answered', () => written.length + failedWrites.length === count);
    await waitFor('every change to arrive', () => w.events.length >= count);

    expect(failedWrites).toEqual([]);
    const applied = written.sort((a, b) => (a.resourceVersion < b.resourceVersion ? -1 : 1)).map((x) => x.n);
    expect(w.events.map((e) => Number(e.data?.['n']))).toEqual(applied);
    expect(w.events.every((e) => e.type === 'MODIFIED')).toBe(true);
    expect(w.lists).toBe(1);
    expect(w.resyncs).toBe(0);
    expect(w.errors).toEqual([]);
  }, 60_000);

  it('lists again and asks for a resync when its resourceVersion is too old to resume from (410 Gone)', async () => {
    const path = `/apis/${WIDGETS.group}/${WIDGETS.version}/namespaces/${NAMESPACE}/${WIDGETS.plural}`;
    let lists = 0;
    const w = await startWatch('gone', {
      path,
      query: {},
      // The first list hands over resourceVersion 1, as a watch holds it after a long disconnection.
      list: async () => {
        const list = (await custom.listNamespacedCustomObject({ ...WIDGETS, namespace: NAMESPACE })) as {
          metadata?: { resourceVersion?: string };
        };
        return ++lists === 1 ? '1' : list.metadata?.resourceVersion;
      },
    });
    await waitFor('a resync', () => w.resyncs > 0);

    const gone = w.logs.find((l) => l.msg === 'gone watch too old to resume; relisting');
    expect(gone?.error).toMatch(/answered 410 \(Expired: too old resource version: 1 \(\d+\)\)/);
    expect(lists).toBe(2);
    expect(w.resyncs).toBe(1);
    expect(w.errors).toEqual([]);
    // And it watches from the new resourceVersion.
    await custom.createNamespacedCustomObject({
      ...WIDGETS,
      namespace: NAMESPACE,
      body: { apiVersion: `${WIDGETS.group}/${WIDGETS.version}`, kind: 'Widget', metadata: { name: 'w1' } },
    });
    await waitFor('the new widget', () => w.events.length > 0);
    expect(w.events).toEqual([{ type: 'ADDED', name: 'w1', data: undefined }]);
  });

  it('retries a failing watch with a capped exponential backoff, reporting each failure', async () => {
    const w = await startWatch('failing', {
      // A collection the API server does not serve: every watch request answers 404.
      path: `/apis/${WIDGETS.group}/${WIDGETS.version}/namespaces/${NAMESPACE}/gadgets`,
      minRestartMs: 20,
      maxRestartMs: 80,
    });
    await waitFor('five failures', () => w.errors.length >= 5);

    const failures = w.logs.filter((l) => l.msg === 'failing watch failed; restarting');
    expect(failures.slice(0, 5).map((l) => l.retryInMs)).toEqual([20, 40, 80, 80, 80]);
    expect(failures[0]?.error).toBe('failing: Kubernetes API answered 404 (Not Found)');
    expect(w.resyncs).toBe(0);
  });

  it('delivers nothing after stop()', async () => {
    const w = await startWatch('stop');
    const control = await startWatch('stop');
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: configMap('s', 'stop', { v: '1' }) });
    await waitFor('the first event', () => w.events.length === 1);

    await w.watch.stop();
    await setData('s', { v: '2' });
    await waitFor('the change to reach a watch still running', () => control.events.length === 2);

    expect(w.events.map((e) => e.data)).toEqual([{ v: '1' }]);
  });

  it('leaves nothing behind that keeps a program alive once stopped', async () => {
    // A program of its own: the process must end by itself after stop(), within a bound.
    const program = `
      import * as k8s from '@kubernetes/client-node';
      import { createLogger } from '@rudder/common';
      import { loadKubeConfig } from '@rudder/common/kube-config';
      import { ResumableWatch } from '@rudder/common/kube-watch';
      const kc = loadKubeConfig();
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const namespace = ${JSON.stringify(NAMESPACE)};
      const labelSelector = 'test=exit';
      let seen;
      const watch = new ResumableWatch({
        name: 'exit',
        watcher: new k8s.Watch(kc),
        path: '/api/v1/namespaces/' + namespace + '/configmaps',
        query: { labelSelector },
        timeoutSeconds: 30,
        list: async () => (await core.listNamespacedConfigMap({ namespace, labelSelector })).metadata?.resourceVersion,
        onEvent: () => seen(),
        logger: createLogger('exit'),
      });
      await watch.start();
      const event = new Promise((resolve) => (seen = resolve));
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'exit', labels: { test: 'exit' } } } });
      await event;
      await watch.stop();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: process.env['PATH'] ?? '', KUBECONFIG: cluster.kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    let exit: { code: number | null } | undefined;
    child.once('exit', (code) => (exit = { code }));
    try {
      await waitFor('the program to stop its watch', () => output.includes('stopped') || exit, {
        timeoutMs: 20_000,
      });
      await waitFor('the program to exit by itself', () => exit, { timeoutMs: 5000 });
      expect({ exit, output }).toEqual({ exit: { code: 0 }, output: 'stopped\n' });
    } catch (err) {
      throw new Error(`${String(err)}; the program printed: ${output}`, { cause: err });
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);
});

describe("a worker's partition map source", () => {
  it('delivers the published map, then each valid new one, and keeps the last when the ConfigMap goes', async () => {
    const namespace = 'kube-watch-worker';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const publish = async (text: string, create = false): Promise<void> => {
      const body = { metadata: { name: PARTITION_MAP_CONFIGMAP }, data: { [PARTITION_MAP_KEY]: text } };
      if (create) await core.createNamespacedConfigMap({ namespace, body });
      else await core.replaceNamespacedConfigMap({ namespace, name: PARTITION_MAP_CONFIGMAP, body });
    };
    const first = computePartitionMap(undefined, 4, 1);
    const second = { ...computePartitionMap(first, 4, 2), epoch: 2 };
    await publish(JSON.stringify(first), true);
    const logs: LogLine[] = [];
    const logger = createLogger('kube-watch-test', {
      destination: { write: (text: string) => void logs.push(JSON.parse(text) as LogLine) },
    });
    const source = new KubernetesMapSource(k8s, cluster.kc, { namespace, logger });
    const maps: PartitionMap[] = [];
    try {
      await source.start((map) => maps.push(map));
      expect(maps).toEqual([first]);

      await publish('not a map');
      await publish(JSON.stringify(second));
      await waitFor('the second map', () => maps.length === 2);
      await core.deleteNamespacedConfigMap({ namespace, name: PARTITION_MAP_CONFIGMAP });
      await waitFor('the deletion to be noticed', () => logs.some((l) => l.msg.includes('was deleted')));

      expect(maps).toEqual([first, second]);
      expect(logs.map((l) => l.msg)).toEqual([
        `${PARTITION_MAP_CONFIGMAP} holds no valid ${PARTITION_MAP_KEY}; ignored`,
        'the partition map ConfigMap was deleted; keeping the last map',
      ]);
    } finally {
      await source.stop();
    }
  });
});
