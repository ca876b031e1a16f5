/**
 * The operator's figures for `make bench` (run by devkit/src/bench.ts as a
 * child process; prints `RESULT <line>` for each figure). On a local
 * kube-apiserver + etcd + kube-controller-manager with the process kubelet in
 * fake mode (pods are reported Ready, nothing runs):
 *  1. kubectl apply of one RudderInstance to its Ready condition;
 *  2. 200 RudderInstances created at once, to all Ready;
 *  3. steady-state reconcile throughput: every instance touched, reconciles/s
 *     until the queue is empty again;
 *  4. the operator's peak memory (VmHWM) over the whole run, with the heap
 *     bounds (NODE_OPTIONS) the Helm chart gives it.
 * Bounded: every wait has a deadline, and everything stops at the end.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { waitFor } from '@rudder/devkit';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import { startCluster } from './cluster.ts';
import { installCrds } from './crds.ts';
import { startProcessKubelet } from './process-kubelet.ts';
import { startOperatorProcess } from './operator-process.ts';
import { instanceManifest, isReadyAtGeneration, tokenSecretManifest } from './instance-fixtures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COUNT = Number(process.env.BENCH_INSTANCES ?? 200);
const say = (line: string): void => console.log(line);
const result = (line: string): void => console.log(`RESULT ${line}`);

const lib = await import('@kubernetes/client-node');
const cluster = await startCluster();
say(`[bench operator] cluster up in ${cluster.startupMs} ms`);
const kubelet = await startProcessKubelet(cluster, { run: () => 'fake' });
const custom = cluster.kc.makeApiClient(lib.CustomObjectsApi);
const core = cluster.kc.makeApiClient(lib.CoreV1Api);
const ref = { group: 'rudder.dev', version: 'v1alpha1', plural: 'rudderinstances' };
let operator: Awaited<ReturnType<typeof startOperatorProcess>> | undefined;

const manifest = (name: string) => instanceManifest(name, {}, 'registry.test/rudder/dataplane:bench');
const token = (name: string) => tokenSecretManifest(name, `rdr_dp_bench_${name}`);

async function readyCount(): Promise<number> {
  const list = (await custom.listClusterCustomObject(ref)) as { items: RudderInstance[] };
  return list.items.filter(isReadyAtGeneration).length;
}

function chartNodeOptions(): string {
  const values = parse(readFileSync(`${ROOT}charts/rudder/values.yaml`, 'utf8')) as {
    operator: { nodeOptions?: string };
  };
  return values.operator.nodeOptions ?? '';
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

try {
  await installCrds(cluster);
  await core.createNamespace({ body: { metadata: { name: 'rudder-system' } } });
  // The operator as the chart runs it: its heap bounds come from the chart's values.
  operator = await startOperatorProcess(cluster, 'bench', {
    LOG_LEVEL: 'info',
    WORKERS: '8',
    NODE_OPTIONS: chartNodeOptions(),
  });
  const pid = operator.proc.child.pid!;

  // 1. One instance, the way a user would create it.
  await core.createNamespacedSecret({ namespace: 'rudder-system', body: token('solo') });
  let started = Date.now();
  const r = await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(manifest('solo')));
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  await waitFor(
    'solo to be Ready',
    async () =>
      isReadyAtGeneration((await custom.getClusterCustomObject({ ...ref, name: 'solo' })) as RudderInstance),
    {
      timeoutMs: 60_000,
      intervalMs: 20,
    },
  );
  result(`operator: kubectl apply -> Ready, one instance: ${Date.now() - started} ms`);

  // 2. COUNT instances at once.
  const names = Array.from({ length: COUNT }, (_, i) => `t${String(i).padStart(3, '0')}`);
  await inBatches(names, 20, (n) =>
    core.createNamespacedSecret({ namespace: 'rudder-system', body: token(n) }),
  );
  started = Date.now();
  await inBatches(names, 20, (n) => custom.createClusterCustomObject({ ...ref, body: manifest(n) }));
  const created = Date.now() - started;
  let lastReport = 0;
  await waitFor(
    `${COUNT} instances to be Ready`,
    async () => {
      const ready = (await readyCount()) - 1;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        say(`[bench operator] ${ready}/${COUNT} Ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
      return ready >= COUNT;
    },
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  const allReady = Date.now() - started;
  result(
    `operator: ${COUNT} RudderInstances created (${created} ms) -> all Ready: ${(allReady / 1000).toFixed(1)} s (target < 120 s)`,
  );

  // 3. Steady state: touch every instance (an annotation: no new generation) and count the reconciles.
  const before = await operator.metric('rudder_operator_reconciles_total');
  started = Date.now();
  const merge = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch);
  await inBatches(names, 50, (n) =>
    custom.patchClusterCustomObject(
      { ...ref, name: n, body: { metadata: { annotations: { 'bench/touch': String(started) } } } },
      merge,
    ),
  );
  await waitFor(
    'every touched instance to be reconciled',
    async () => (await operator!.metric('rudder_operator_reconciles_total')) - before >= COUNT,
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  const seconds = (Date.now() - started) / 1000;
  const done = (await operator.metric('rudder_operator_reconciles_total')) - before;
  result(
    `operator: steady-state reconciles, ${COUNT} instances: ${(done / seconds).toFixed(0)} reconciles/s (${done} in ${seconds.toFixed(1)} s)`,
  );
  result(
    `operator: peak memory (VmHWM) with ${COUNT + 1} instances: ${peakRssMiB(pid).toFixed(0)} MiB (target < 256 MiB)`,
  );
} finally {
  await operator?.stop('SIGTERM').catch(() => {});
  await kubelet.stop();
  await cluster.stop();
}
