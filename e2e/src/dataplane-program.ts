import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { rewriteListen, rewriteMountPaths, rewriteServiceHosts } from './local-rewrites.ts';
import { writeServiceAccountKubeconfig } from './pod-credentials.ts';
import { PodConfigError, resolveContainerEnv } from './pod-env.ts';
import { pickContainer, readinessCheck, type PodContext, type PodProgram } from './pod-program.ts';
import { materializeVolumes } from './pod-volumes.ts';
import { spawnLogged } from './processes.ts';
import { portMap } from './service-endpoints.ts';

/** The label that marks a data-plane pod (gateway or worker). */
export const DATAPLANE_NAME = 'rudder-dataplane';

/** The data plane's own defaults for PORT and ADMIN_PORT (dataplane/src/config.ts). */
const DEFAULT_PORT = 8080;
const DEFAULT_ADMIN_PORT = 8081;

/** Whether `pod` is a data-plane pod (`app.kubernetes.io/name: rudder-dataplane`). */
export function isDataplanePod(pod: V1Pod): boolean {
  return pod.metadata?.labels?.['app.kubernetes.io/name'] === DATAPLANE_NAME;
}

/**
 * Runs a data-plane pod's `dataplane` container as `node dataplane/src/main.ts`
 * from the repository (the image's program, without the image; the
 * container's command and args are not used). Its environment is the
 * container's, resolved from the API, with these local rewrites:
 *
 * - HOST and ADMIN_HOST → 127.0.0.1: only this machine can reach it anyway.
 * - PORT and ADMIN_PORT → free local ports, fixed for the pod's lifetime;
 *   the container ports they stood for map to them (Services, probes).
 * - Values under a volumeMount's mountPath → the folder the volume was
 *   written to (Secret and ConfigMap volumes: token files, config files).
 * - `<svc>.<ns>.svc[.cluster.local][:port]` hosts (DATABASE_URL, ...) → the
 *   local address of a ready pod behind that Service; until there is one the
 *   container waits in ContainerCreating, as if its database were not up.
 * - KUBECONFIG → a kubeconfig with the pod's service account token, when it
 *   is automounted (see `writeServiceAccountKubeconfig`): what in-cluster
 *   config would give the process, which cannot read /var/run/secrets here.
 *
 * Ready when the container's readinessProbe passes against the local port.
 */
export async function dataplaneProgram(ctx: PodContext): Promise<PodProgram | undefined> {
  const container = pickContainer(ctx.pod, 'dataplane');
  if (!container) return undefined;
  const literal = (name: string, fallback: number): number => {
    const value = container.env?.find((e) => e.name === name && e.valueFrom === undefined)?.value;
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : fallback;
  };
  const [http, admin] = [await ctx.allocatePort(), await ctx.allocatePort()];
  const ports = portMap(container.ports ?? [], {
    [literal('PORT', DEFAULT_PORT)]: http,
    [literal('ADMIN_PORT', DEFAULT_ADMIN_PORT)]: admin,
  });
  const ready = readinessCheck(container, ports);
  const name = `${ctx.pod.metadata?.namespace}/${ctx.pod.metadata?.name}`;
  return {
    container: container.name,
    ports,
    start: async () => {
      const facts = { podIP: '127.0.0.1', hostIP: '127.0.0.1', nodeName: ctx.nodeName };
      const declared = await resolveContainerEnv(ctx.core, ctx.pod, container, facts);
      const mounts = await materializeVolumes(ctx.core, ctx.pod, container, ctx.dir);
      const linked = rewriteServiceHosts(rewriteMountPaths(declared, mounts), (ref) =>
        ctx.resolveService(ref),
      );
      if (linked.unresolved.length > 0) {
        throw new PodConfigError(
          `waiting for a ready pod behind ${linked.unresolved.join(', ')}`,
          'ContainerCreating',
        );
      }
      const env = rewriteListen(linked.env, ['HOST', 'ADMIN_HOST'], { PORT: http, ADMIN_PORT: admin });
      const kubeconfig = writeServiceAccountKubeconfig(mounts, ctx.dir, ctx.apiServer);
      if (kubeconfig !== undefined && env['KUBECONFIG'] === undefined) env['KUBECONFIG'] = kubeconfig;
      const proc = spawnLogged(name, process.execPath, [join(ctx.root, 'dataplane', 'src', 'main.ts')], {
        cwd: ctx.root,
        logFile: ctx.logFile,
        env: { PATH: ctx.path, ...env },
      });
      return {
        containerId: `process://${proc.child.pid ?? 0}`,
        exited: proc.exited,
        ready,
        stop: async (graceMs) => void (await proc.stop(graceMs)),
      };
    },
  };
}
