import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ServiceRef } from './local-rewrites.ts';

/**
 * Container port → local port on 127.0.0.1, keyed both by the port's number
 * (as a string) and by its name, so a Service's `targetPort` and a probe's
 * `port` resolve either way.
 */
export type PortMap = ReadonlyMap<string, number>;

/** A pod this kubelet runs as a process, as a Service would see it. */
export interface LocalEndpoint {
  pod: V1Pod;
  ports: PortMap;
  ready: boolean;
}

/**
 * The `127.0.0.1:<port>` that plays the part of `ref`: a ready local pod
 * selected by the Service (or the named pod, for `<pod>.<svc>.<ns>.svc`),
 * at the local port of the Service port's targetPort. `ref.port` picks the
 * Service port by number or name; without it the Service's first port.
 * Undefined when there is no such Service, port or ready pod (yet).
 */
export function localServiceAddress(
  ref: ServiceRef,
  services: (namespace: string, name: string) => V1Service | undefined,
  endpoints: Iterable<LocalEndpoint>,
): string | undefined {
  const service = services(ref.namespace, ref.service);
  const servicePort = pickPort(service?.spec?.ports ?? [], ref.port);
  if (!service || !servicePort) return undefined;
  const target = String(servicePort.targetPort ?? servicePort.port);
  const selector = service.spec?.selector;
  for (const endpoint of endpoints) {
    const meta = endpoint.pod.metadata ?? {};
    if (meta.namespace !== ref.namespace || !endpoint.ready) continue;
    if (ref.pod !== undefined && (endpoint.pod.spec?.hostname ?? meta.name) !== ref.pod) continue;
    if (!selector || !matches(selector, meta.labels ?? {})) continue;
    const local = endpoint.ports.get(target);
    if (local !== undefined) return `127.0.0.1:${local}`;
  }
  return undefined;
}

function pickPort(ports: V1ServicePort[], wanted: number | string | undefined): V1ServicePort | undefined {
  if (wanted === undefined) return ports[0];
  return ports.find((p) => p.port === wanted || (p.name !== undefined && p.name === wanted));
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * The PortMap of a program that listens on `listening` (container port
 * number → local port): each of them by number, and each declared container
 * port among them also by its name.
 */
export function portMap(
  declared: readonly { containerPort: number; name?: string }[],
  listening: Readonly<Record<number, number>>,
): Map<string, number> {
  const map = new Map<string, number>();
  for (const [containerPort, local] of Object.entries(listening)) map.set(containerPort, local);
  for (const port of declared) {
    const local = listening[port.containerPort];
    if (local === undefined) continue;
    map.set(String(port.containerPort), local);
    if (port.name) map.set(port.name, local);
  }
  return map;
}
