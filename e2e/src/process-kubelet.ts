import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubernetesObject,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Cluster } from './cluster.ts';
import { loadE2eConfig } from './config.ts';
import { dataplaneProgram, isDataplanePod } from './dataplane-program.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { ServiceRef } from './local-rewrites.ts';
import { registerNode } from './node-registration.ts';
import { PodSync, type RunMode } from './pod-sync.ts';
import type { ProgramFactory } from './pod-program.ts';
import { isPostgresPod, postgresProgram } from './postgres-program.ts';
import { localServiceAddress } from './service-endpoints.ts';

export type { RunMode } from './pod-sync.ts';

export interface ProcessKubeletOptions {
  /** The Node to register and run pods on (default `e2e-node`). */
  nodeName?: string;
  /**
   * `process` (default): data-plane and Postgres pods run as real local
   * processes, Ready when their readiness check passes. `fake`: the pod is
   * reported Ready at once and nothing runs (kwok-style, for throughput
   * tests). Pods of other kinds are always fake.
   */
  run?: (pod: V1Pod) => RunMode;
  /**
   * Services that live outside the cluster (a control plane the test runs
   * in-process): `'<namespace>/<service>'` → `'127.0.0.1:<port>'`, used when
   * a pod's env names `<service>.<namespace>.svc`.
   */
  externalServices?: Readonly<Record<string, string>>;
  /** Where the kubelet's own messages go, besides `<cluster.dir>/logs/process-kubelet.log`. */
  log?: (line: string) => void;
  /** Environment for the harness settings (the PATH processes get; default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Stands in for the kubelet of a cluster that has none (see `startProcessKubelet`). */
export interface ProcessKubelet {
  nodeName: string;
  /**
   * The local `http://127.0.0.1:<port>` of a Service: a ready pod it selects,
   * at the local port of the Service port (`port`: number or name; default
   * the first). Throws when no ready local pod backs it.
   */
  serviceUrl(namespace: string, service: string, port?: number | string): string;
  /**
   * The folder of the pod's process: its volumes and, when its service
   * account token is automounted, the `kubeconfig` it was given (undefined
   * if it never ran as a process).
   */
  podDir(namespace: string, name: string): string | undefined;
  /** Everything the pod's process printed, over all its restarts ('' if it never ran). */
  podLogs(namespace: string, name: string): string;
  /**
   * Sends `signal` to the pod's running process, as `kill -s <signal>` on
   * its node would. SIGSTOP freezes it: it keeps running as far as the pod
   * status goes, and goes NotReady once its readinessProbe has failed
   * `failureThreshold` times. SIGKILL ends it: the container restarts, with
   * `restartCount` one up and exit code 137 in `lastState.terminated`.
   * Throws when the pod has no running process here.
   */
  signalPod(namespace: string, name: string, signal: NodeJS.Signals): void;
  /** Stops every process it runs and stops watching; pods and the Node stay in the API. */
  stop(): Promise<void>;
}

/**
 * A kubelet for a cluster without a container runtime: registers a Ready
 * Node, binds every unscheduled pod to it (there is no scheduler either),
 * runs data-plane and Postgres pods as local processes (see
 * `dataplaneProgram`, `postgresProgram`) and reports every other pod Ready
 * at once, restarts processes that exit, and on pod deletion stops the
 * process and removes the pod so controllers replace it. Stop it before
 * stopping the cluster.
 */
export async function startProcessKubelet(
  cluster: Cluster,
  options: ProcessKubeletOptions = {},
): Promise<ProcessKubelet> {
  const nodeName = options.nodeName ?? 'e2e-node';
  const config = loadE2eConfig(options.env);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const logDir = join(cluster.dir, 'logs');
  mkdirSync(join(logDir, 'pods'), { recursive: true });
  const log = (line: string): void => {
    appendFileSync(join(logDir, 'process-kubelet.log'), `${new Date().toISOString()} ${line}\n`);
    options.log?.(line);
  };

  const stopHeartbeat = await registerNode(core, nodeName);
  const pods = makeInformer<V1Pod>(cluster.kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  const services = makeInformer<V1Service>(cluster.kc, '/api/v1/services', () =>
    core.listServiceForAllNamespaces(),
  );
  const resolveService = (ref: ServiceRef): string | undefined =>
    options.externalServices?.[`${ref.namespace}/${ref.service}`] ??
    localServiceAddress(ref, (ns, name) => services.get(name, ns), sync.endpoints());
  const programFor: ProgramFactory = async (ctx) =>
    isPostgresPod(ctx.pod)
      ? postgresProgram(ctx)
      : isDataplanePod(ctx.pod)
        ? dataplaneProgram(ctx)
        : undefined;
  const sync: PodSync = new PodSync({
    core,
    nodeName,
    apiServer: cluster.server,
    dir: cluster.dir,
    root: config.root,
    path: config.path,
    pods: (namespace, name) => pods.get(name, namespace),
    run: options.run ?? (() => 'process'),
    programFor,
    resolveService,
    schedule: (key) => queue.schedule(key),
    log,
  });
  const queue = new KeyedQueue(
    (key) => sync.sync(key),
    (key, err) => log(`sync ${key} failed (retried at the next resync): ${describe(err)}`),
  );

  let stopped = false;
  const keyOf = (pod: KubernetesObject): string => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  for (const verb of ['add', 'update', 'delete'] as const) pods.on(verb, (pod) => queue.schedule(keyOf(pod)));
  for (const informer of [pods, services] as Informer<KubernetesObject>[]) {
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      log(`watch failed, restarting it: ${describe(err)}`);
      setTimeout(() => void informer.start().catch(() => {}), 500).unref();
    });
  }
  await Promise.all([services.start(), pods.start()]);
  // Events can be missed across a watch restart, and failed API calls need a retry.
  const resync = setInterval(() => {
    for (const pod of pods.list()) queue.schedule(keyOf(pod));
    for (const key of sync.keys()) queue.schedule(key);
  }, 3000);
  resync.unref();
  log(`node ${nodeName} registered; watching pods`);

  return {
    nodeName,
    serviceUrl: (namespace, service, port) => {
      const address = resolveService({ namespace, service, pod: undefined, port });
      if (address === undefined) {
        const which = port === undefined ? '' : ` port ${port}`;
        throw new Error(`no ready local pod behind Service ${namespace}/${service}${which}`);
      }
      return `http://${address}`;
    },
    podDir: (namespace, name) => sync.podDir(`${namespace}/${name}`),
    podLogs: (namespace, name) => {
      const file = sync.logFile(`${namespace}/${name}`);
      return file && existsSync(file) ? readFileSync(file, 'utf8') : '';
    },
    signalPod: (namespace, name, signal) => sync.signal(`${namespace}/${name}`, signal),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(resync);
      stopHeartbeat();
      await Promise.all([pods.stop(), services.stop()]);
      await queue.close();
      await sync.stopAll();
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'object' ? JSON.stringify(err) : String(err);
}
