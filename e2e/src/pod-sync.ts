import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@rudder/devkit';
import type { CoreV1Api, V1Binding, V1Pod } from '@kubernetes/client-node';
import { MERGE_PATCH } from './node-registration.ts';
import type { ServiceRef } from './local-rewrites.ts';
import { pickContainer, type PodProgram, type ProgramFactory } from './pod-program.ts';
import { apiTime, desiredPodStatus, sameStatus, type ContainerState } from './pod-status.ts';
import { ProcessPod, readinessTiming } from './process-pod.ts';
import type { LocalEndpoint } from './service-endpoints.ts';

/** How the process kubelet treats a pod: run it for real, or only report it Ready. */
export type RunMode = 'process' | 'fake';

/**
 * Each pod reports its own IP from 10.244.0.0/16, as with a real CNI, though
 * its process listens on 127.0.0.1: the EndpointSlice and Endpoints
 * controllers leave loopback addresses out, so Services would look empty.
 * The process itself is told 127.0.0.1 (fieldRef status.podIP), the address
 * it can bind. Local traffic goes through `serviceUrl` and the env rewrites.
 */
export function podIPFor(index: number): string {
  const n = (index % 65_000) + 2;
  return `10.244.${n >> 8}.${n & 255}`;
}

/** A pod this kubelet has admitted. */
interface PodEntry {
  uid: string;
  pod: V1Pod;
  startTime: string;
  podIP: string;
  logFile: string;
  program?: PodProgram;
  worker?: ProcessPod;
}

export interface PodSyncDeps {
  core: CoreV1Api;
  nodeName: string;
  /** The API server's URL, as pods' processes reach it. */
  apiServer: string;
  /** The cluster's scratch folder: pod folders and logs go under it. */
  dir: string;
  root: string;
  path: string;
  pods(namespace: string, name: string): V1Pod | undefined;
  run(pod: V1Pod): RunMode;
  programFor: ProgramFactory;
  resolveService(ref: ServiceRef): string | undefined;
  /** Asks for `sync(key)` to run again (a process's state changed). */
  schedule(key: string): void;
  log(line: string): void;
}

/**
 * The kubelet's reconcile step for one pod (`namespace/name`): bind it when
 * unscheduled, admit it (start its process, or not), report its status,
 * and on deletion stop the process and remove the pod for good.
 */
export class PodSync {
  private readonly entries = new Map<string, PodEntry>();
  private readonly logs = new Map<string, string>();
  private readonly dirs = new Map<string, string>();
  /** Local ports handed to pods: a process may bind its port long after it was chosen. */
  private readonly reserved = new Set<number>();
  private admitted = 0;

  private readonly deps: PodSyncDeps;

  constructor(deps: PodSyncDeps) {
    this.deps = deps;
  }

  async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.deps.pods(namespace, name);
    let entry = this.entries.get(key);
    if (entry && entry.uid !== pod?.metadata?.uid) {
      // Gone, or replaced by a new pod of the same name (StatefulSets do that).
      await this.retire(key, entry, 5000);
      entry = undefined;
    }
    if (!pod?.spec || !pod.metadata) return;
    const { core, nodeName } = this.deps;
    if (!pod.spec.nodeName) {
      await ignore([409], core.createNamespacedBinding({ namespace, body: binding(pod, nodeName) }));
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
    if (pod.metadata.deletionTimestamp) {
      if (entry) await this.retire(key, entry, gracePeriodMs(pod));
      // In the body: the API server ignores query parameters when a body is sent.
      const body = { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid ?? '' } };
      await ignore([404, 409], core.deleteNamespacedPod({ namespace, name, body }));
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    entry ??= await this.admit(key, pod);
    entry.pod = pod;
    const states = new Map<string, ContainerState>();
    if (entry.program && entry.worker) states.set(entry.program.container, entry.worker.state);
    const status = desiredPodStatus(pod, states, {
      podIP: entry.podIP,
      hostIP: '127.0.0.1',
      startTime: entry.startTime,
    });
    if (sameStatus(status, pod.status)) return;
    const body = { metadata: { uid: entry.uid }, status };
    await ignore([404], core.patchNamespacedPodStatus({ namespace, name, body }, MERGE_PATCH));
  }

  /** Pods whose processes run here, for Service lookups. */
  *endpoints(): Iterable<LocalEndpoint> {
    for (const entry of this.entries.values()) {
      if (entry.program && entry.worker) {
        yield { pod: entry.pod, ports: entry.program.ports, ready: entry.worker.state.ready };
      }
    }
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The log file of the latest pod called `key` that ran here. */
  logFile(key: string): string | undefined {
    return this.logs.get(key);
  }

  /** The folder of the latest pod called `key` that ran here as a process (volumes, kubeconfig). */
  podDir(key: string): string | undefined {
    return this.dirs.get(key);
  }

  /** Sends `signal` to the process of pod `key` (see `ProcessPod.signal`); throws when it has none here. */
  signal(key: string, signal: NodeJS.Signals): void {
    const worker = this.entries.get(key)?.worker;
    if (!worker) throw new Error(`pod ${key} runs no process here`);
    worker.signal(signal);
  }

  /** Stops every process (SIGTERM, SIGKILL after 5 s). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries].map(([key, entry]) => this.retire(key, entry, 5000)));
  }

  private async admit(key: string, pod: V1Pod): Promise<PodEntry> {
    const uid = pod.metadata?.uid ?? '';
    const slug = `${key.replace('/', '_')}_${uid.slice(0, 8)}`;
    const logFile = join(this.deps.dir, 'logs', 'pods', `${slug}.log`);
    this.logs.set(key, logFile);
    const podIP = podIPFor(this.admitted++);
    const entry: PodEntry = { uid, pod, startTime: apiTime(), podIP, logFile };
    this.entries.set(key, entry);
    if (this.deps.run(pod) !== 'process') return entry;
    const dir = join(this.deps.dir, 'pods', slug);
    mkdirSync(dir, { recursive: true });
    this.dirs.set(key, dir);
    const allocatePort = async (): Promise<number> => {
      for (;;) {
        const port = await freePort();
        if (this.reserved.has(port)) continue;
        this.reserved.add(port);
        return port;
      }
    };
    const program = await this.deps.programFor({ ...this.deps, pod, dir, logFile, allocatePort });
    if (!program) return entry;
    entry.program = program;
    const note = (line: string): void => {
      this.deps.log(`${key}: ${line}`);
      appendFileSync(logFile, `[process-kubelet] ${line}\n`);
    };
    const probe = pickContainer(pod, program.container)?.readinessProbe;
    entry.worker = new ProcessPod(program, () => this.deps.schedule(key), note, readinessTiming(probe));
    this.deps.log(`${key}: running ${program.container} as a local process`);
    return entry;
  }

  private async retire(key: string, entry: PodEntry, graceMs: number): Promise<void> {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    await entry.worker?.stop(graceMs);
    for (const port of entry.program?.ports.values() ?? []) this.reserved.delete(port);
  }
}

function binding(pod: V1Pod, nodeName: string): V1Binding {
  return {
    metadata: { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  };
}

function gracePeriodMs(pod: V1Pod): number {
  const seconds = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(seconds, 1) * 1000;
}

/** Awaits an API call, treating the listed HTTP statuses as success. */
async function ignore(statuses: number[], call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!statuses.includes((err as { code?: number }).code ?? 0)) throw err;
  }
}
