import { connect } from 'node:net';
import type { ChildExit } from '@rudder/devkit';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import type { ServiceRef } from './local-rewrites.ts';
import type { PortMap } from './service-endpoints.ts';

/** One run of a pod's program. */
export interface RunningProgram {
  /** `process://<pid>`, reported as the container's ID. */
  containerId: string;
  /** Settles when the program has ended. */
  exited: Promise<ChildExit>;
  /** One readiness check (the container's readinessProbe, or "it runs"). */
  ready(): Promise<boolean>;
  /** Stops it: SIGTERM, SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/** How one pod runs on this machine: started again after every exit. */
export interface PodProgram {
  /** The container that runs; the pod's other containers are reported as running, fake. */
  container: string;
  /** Its local ports, the same for every run. */
  ports: PortMap;
  /** Starts a run; throws PodConfigError while the pod's config cannot be resolved. */
  start(): Promise<RunningProgram>;
}

/** What a program factory gets to work with. */
export interface PodContext {
  pod: V1Pod;
  core: CoreV1Api;
  /** This pod's own folder (volumes, data). */
  dir: string;
  /** Where the program's output goes (appended across restarts). */
  logFile: string;
  /** The repository root (cwd of Rudder's programs). */
  root: string;
  /** PATH for the program. */
  path: string;
  nodeName: string;
  /** The API server's URL, for the kubeconfig of a pod with service account credentials. */
  apiServer: string;
  /** A free port on 127.0.0.1 that no other pod of this kubelet holds (its process may bind it later). */
  allocatePort(): Promise<number>;
  /** A ready local address for a Service named in the pod's env (see `localServiceAddress`). */
  resolveService(ref: ServiceRef): string | undefined;
}

/** Builds the program for a pod, or undefined when this kind of pod is not run as a process. */
export type ProgramFactory = (ctx: PodContext) => Promise<PodProgram | undefined>;

/**
 * A readiness check for `container` against its local ports: its
 * readinessProbe's `httpGet` (2xx/3xx) or `tcpSocket`, by port number or
 * name; without a probe, ready while it runs (what a kubelet does).
 */
export function readinessCheck(container: V1Container, ports: PortMap): () => Promise<boolean> {
  const probe = container.readinessProbe;
  const local = (port: number | string | undefined): number | undefined =>
    port === undefined ? undefined : ports.get(String(port));
  if (probe?.httpGet) {
    const { path = '/', port } = probe.httpGet;
    const target = local(port);
    if (target === undefined) return async () => false;
    return async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${target}${path}`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status >= 200 && res.status < 400;
      } catch {
        return false;
      }
    };
  }
  if (probe?.tcpSocket) {
    const target = local(probe.tcpSocket.port);
    if (target === undefined) return async () => false;
    return () => canConnect(target);
  }
  return async () => true;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The container to run: the one named `name`, else the first. */
export function pickContainer(pod: V1Pod, name: string): V1Container | undefined {
  const containers = pod.spec?.containers ?? [];
  return containers.find((c) => c.name === name) ?? containers[0];
}
