import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  CoreV1Api,
  V1Container,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';
import { requestPodToken } from './pod-credentials.ts';
import { orUndefined, podFieldValue, PodConfigError } from './pod-env.ts';

/** Where a container's mount lives on this machine. */
export interface LocalMount {
  /** The path inside the container (`volumeMounts[].mountPath`). */
  mountPath: string;
  /** The folder (or file, with `subPath`) standing in for it. */
  localPath: string;
}

/**
 * Writes the container's volumes into `dir/volumes/<volume>`: Secret and
 * ConfigMap volumes (and such sources of projected volumes) get one file per
 * key (or per `items` entry), downwardAPI ones one file per item (metadata
 * fields), a projected `serviceAccountToken` source a token from the
 * TokenRequest API bound to the pod (see `requestPodToken`), every other
 * kind an empty folder. So the service account mount the ServiceAccount
 * admission plugin adds (`kube-api-access-*`: token, ca.crt, namespace) is
 * complete. Rewritten on every start, so a changed Secret shows up, and a
 * fresh token is issued, after a restart.
 */
export async function materializeVolumes(
  core: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
  dir: string,
): Promise<LocalMount[]> {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const mounts: LocalMount[] = [];
  const written = new Set<string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (!volume) throw new PodConfigError(`volumeMount ${mount.name} names no volume of the pod`);
    const base = join(dir, 'volumes', volume.name);
    if (!written.has(volume.name)) {
      written.add(volume.name);
      rmSync(base, { recursive: true, force: true });
      mkdirSync(base, { recursive: true });
      await writeVolume(core, pod, volume, base);
    }
    mounts.push({ mountPath: mount.mountPath, localPath: mount.subPath ? join(base, mount.subPath) : base });
  }
  return mounts;
}

async function writeVolume(core: CoreV1Api, pod: V1Pod, volume: V1Volume, base: string): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (volume.secret) {
    const { secretName = '', items, optional } = volume.secret;
    await writeSource(base, 'Secret', secretName, optional, items, () =>
      secretData(core, namespace, secretName),
    );
  } else if (volume.configMap) {
    const { name = '', items, optional } = volume.configMap;
    await writeSource(base, 'ConfigMap', name, optional, items, () => configMapData(core, namespace, name));
  } else if (volume.downwardAPI) {
    writeDownwardApi(pod, volume.downwardAPI.items ?? [], base);
  } else if (volume.projected) {
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const { path, ...projection } = source.serviceAccountToken;
        writeFile(join(base, path), await requestPodToken(core, pod, projection), 0o600);
      } else if (source.downwardAPI) {
        writeDownwardApi(pod, source.downwardAPI.items ?? [], base);
      } else if (source.secret) {
        const { name = '', items, optional } = source.secret;
        await writeSource(base, 'Secret', name, optional, items, () => secretData(core, namespace, name));
      } else if (source.configMap) {
        const { name = '', items, optional } = source.configMap;
        await writeSource(base, 'ConfigMap', name, optional, items, () =>
          configMapData(core, namespace, name),
        );
      }
    }
  }
}

async function writeSource(
  base: string,
  kind: string,
  name: string,
  optional: boolean | undefined,
  items: V1KeyToPath[] | undefined,
  read: () => Promise<Record<string, Buffer> | undefined>,
): Promise<void> {
  const data = await read();
  if (!data) {
    if (optional) return;
    throw new PodConfigError(`${kind} "${name}" not found (for a volume)`);
  }
  const files = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const { key, path } of files) {
    const value = data[key];
    if (value === undefined) {
      if (optional) continue;
      throw new PodConfigError(`${kind} "${name}" has no key "${key}" (for a volume)`);
    }
    writeFile(join(base, path), value);
  }
}

function writeDownwardApi(pod: V1Pod, items: V1DownwardAPIVolumeFile[], base: string): void {
  for (const item of items) {
    // resourceFieldRef: nothing sensible to give a local process; left out, as in the environment.
    if (item.fieldRef) writeFile(join(base, item.path), podFieldValue(pod, item.fieldRef.fieldPath));
  }
}

function writeFile(file: string, value: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, value, { mode });
}

async function secretData(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  const secret = await orUndefined(core.readNamespacedSecret({ namespace, name }));
  if (!secret) return undefined;
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
  );
}

async function configMapData(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  const map = await orUndefined(core.readNamespacedConfigMap({ namespace, name }));
  if (!map) return undefined;
  return {
    ...Object.fromEntries(Object.entries(map.data ?? {}).map(([key, value]) => [key, Buffer.from(value)])),
    ...Object.fromEntries(
      Object.entries(map.binaryData ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
  };
}
