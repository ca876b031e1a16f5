import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';

/**
 * A container cannot start yet (a missing Secret key, a Service without a
 * ready pod): reported as the container's waiting reason, retried later.
 */
export class PodConfigError extends Error {
  override readonly name = 'PodConfigError';
  /** The container's waiting reason while this lasts. */
  readonly reason: string;
  constructor(message: string, reason = 'CreateContainerConfigError') {
    super(message);
    this.reason = reason;
  }
}

/** Values the downward API would give a container, as the process kubelet runs it. */
export interface PodFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

/**
 * The container's environment as Kubernetes would build it: `envFrom`
 * (Secrets and ConfigMaps, with their prefix) first, then `env` in order
 * (literal values with `$(VAR)` expansion, `secretKeyRef`, `configMapKeyRef`,
 * `fieldRef`), read from the API now. Throws PodConfigError for a missing
 * non-optional reference.
 */
export async function resolveContainerEnv(
  core: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
  facts: PodFacts,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const secrets = new Map<string, Promise<Record<string, string> | undefined>>();
  const configMaps = new Map<string, Promise<Record<string, string> | undefined>>();
  const secret = (name: string): Promise<Record<string, string> | undefined> => {
    if (!secrets.has(name)) secrets.set(name, readSecret(core, namespace, name));
    return secrets.get(name)!;
  };
  const configMap = (name: string): Promise<Record<string, string> | undefined> => {
    if (!configMaps.has(name)) configMaps.set(name, readConfigMap(core, namespace, name));
    return configMaps.get(name)!;
  };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref) continue;
    const kind = from.secretRef ? 'Secret' : 'ConfigMap';
    const data = await (from.secretRef ? secret(ref.name!) : configMap(ref.name!));
    if (!data && !ref.optional) throw new PodConfigError(`${kind} "${ref.name}" not found`);
    for (const [key, value] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const item of container.env ?? []) {
    const from = item.valueFrom;
    if (!from) {
      env[item.name] = expand(item.value ?? '', env);
    } else if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = (from.secretKeyRef ?? from.configMapKeyRef)!;
      const kind = from.secretKeyRef ? 'Secret' : 'ConfigMap';
      const data = await (from.secretKeyRef ? secret(ref.name!) : configMap(ref.name!));
      const value = data?.[ref.key];
      if (value !== undefined) env[item.name] = value;
      else if (!ref.optional) {
        throw new PodConfigError(`${kind} "${ref.name}" has no key "${ref.key}" (for ${item.name})`);
      }
    } else if (from.fieldRef) {
      env[item.name] = podFieldValue(pod, from.fieldRef.fieldPath, facts);
    }
    // resourceFieldRef: nothing sensible to give a local process; left unset.
  }
  return env;
}

/** `$(NAME)` → the value defined so far; `$$(` escapes; unknown references stay as written. */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? whole),
  );
}

/**
 * A `fieldRef` value as the downward API gives it. Without `facts`, for a
 * downwardAPI volume file: only metadata fields (what Kubernetes allows
 * there), and `metadata.labels` / `metadata.annotations` as a whole give
 * the file's `key="value"` lines.
 */
export function podFieldValue(pod: V1Pod, path: string, facts?: PodFacts): string {
  const meta = pod.metadata ?? {};
  if (facts === undefined && (path === 'metadata.labels' || path === 'metadata.annotations')) {
    const map = (path === 'metadata.labels' ? meta.labels : meta.annotations) ?? {};
    return Object.keys(map)
      .sort()
      .map((key) => `${key}=${JSON.stringify(map[key])}`)
      .join('\n');
  }
  if (facts === undefined && !path.startsWith('metadata.'))
    throw new PodConfigError(`fieldRef ${path} is not allowed in a downwardAPI volume`);
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return facts!.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return facts!.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts!.hostIP;
    default:
      throw new PodConfigError(`fieldRef ${path} is not supported by the process kubelet`);
  }
}

/** The Secret's data decoded to strings; undefined when it does not exist. */
export async function readSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const found = await orUndefined(core.readNamespacedSecret({ namespace, name }));
  if (!found) return undefined;
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(found.data ?? {})) {
    data[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return data;
}

async function readConfigMap(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const found = await orUndefined(core.readNamespacedConfigMap({ namespace, name }));
  return found ? { ...found.data } : undefined;
}

/** The API call's result, or undefined for a 404. */
export async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}
