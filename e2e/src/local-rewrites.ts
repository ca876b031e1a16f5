import type { LocalMount } from './pod-volumes.ts';

/**
 * The rewrites that let a container's environment work for a process on this
 * machine, where every pod shares 127.0.0.1 and the file system. Pure
 * functions; the runners apply them in order: mount paths, then Service hosts,
 * then the program's own listen addresses.
 */

/**
 * Mount paths → local folders: a value equal to a volumeMount's mountPath,
 * or below it (`/etc/rudder/token` under `/etc/rudder`), now points into the
 * folder `materializeVolumes` wrote. The longest mountPath wins.
 */
export function rewriteMountPaths(
  env: Record<string, string>,
  mounts: readonly LocalMount[],
): Record<string, string> {
  const byLength = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const mount = byLength.find((m) => value === m.mountPath || value.startsWith(`${m.mountPath}/`));
    out[name] = mount ? mount.localPath + value.slice(mount.mountPath.length) : value;
  }
  return out;
}

/** A Service (or one pod behind a headless Service) named in an env value, by its cluster DNS name. */
export interface ServiceRef {
  namespace: string;
  service: string;
  /** `<pod>.<service>.<namespace>.svc`: that pod (a StatefulSet member) rather than any. */
  pod: string | undefined;
  /** The Service port: written after the host (a number), or asked for by name; undefined = the first. */
  port: number | string | undefined;
}

const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';

/**
 * `[<pod>.]<service>.<namespace>.svc[.cluster.local][:port]`. Shorter names
 * (`<service>`, `<service>.<namespace>`) are left alone: without `.svc` they
 * cannot be told apart from other host names.
 */
const SERVICE_HOST = new RegExp(
  `(?<![\\w.-])(?:(${LABEL})\\.)?(${LABEL})\\.(${LABEL})\\.svc(?:\\.cluster\\.local)?(?::(\\d{1,5}))?(?![\\w.-])`,
  'g',
);

function toRef(
  pod: string | undefined,
  service: string,
  namespace: string,
  port: string | undefined,
): ServiceRef {
  return { pod, service, namespace, port: port === undefined ? undefined : Number(port) };
}

/** Every Service host named in `value`. */
export function serviceRefs(value: string): ServiceRef[] {
  return [...value.matchAll(SERVICE_HOST)].map((m) => toRef(m[1], m[2]!, m[3]!, m[4]));
}

/**
 * Service hosts → local addresses: each `[<pod>.]<svc>.<ns>.svc...[:port]`
 * in any env value (DATABASE_URL, CONTROL_PLANE_URL, ...) becomes the
 * `host:port` that `resolve` gives for it: the address of a ready local pod
 * backing the Service. References `resolve` cannot answer yet are listed in
 * `unresolved` and left as written.
 */
export function rewriteServiceHosts(
  env: Record<string, string>,
  resolve: (ref: ServiceRef) => string | undefined,
): { env: Record<string, string>; unresolved: string[] } {
  const unresolved = new Set<string>();
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    out[name] = value.replace(
      SERVICE_HOST,
      (whole, pod: string | undefined, service: string, namespace: string, port: string | undefined) => {
        const address = resolve(toRef(pod, service, namespace, port));
        if (address === undefined) unresolved.add(whole);
        return address ?? whole;
      },
    );
  }
  return { env: out, unresolved: [...unresolved] };
}

/**
 * A program's own listen settings → local ones: every `hosts` variable set
 * to 127.0.0.1, every `ports` variable to its local port. Variables the
 * container did not set are set too, so the program never falls back to a
 * default port another pod may hold.
 */
export function rewriteListen(
  env: Record<string, string>,
  hosts: readonly string[],
  ports: Readonly<Record<string, number>>,
): Record<string, string> {
  const out = { ...env };
  for (const name of hosts) out[name] = '127.0.0.1';
  for (const [name, port] of Object.entries(ports)) out[name] = String(port);
  return out;
}
