/**
 * Security contexts that satisfy the Pod Security "restricted" profile the
 * tenant namespace enforces.
 */
import type {
  V1PodSecurityContext,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';

/** The uid (and gid) the data-plane image runs as. */
export const DATAPLANE_UID = 1000;
/** The uid of `postgres` in the alpine Postgres images. */
export const POSTGRES_UID = 70;

export function podSecurityContext(uid: number): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(uid: number): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A writable scratch directory for a container whose root filesystem is read-only. */
export function scratchVolume(
  name: string,
  mountPath: string,
  sizeLimit = '256Mi',
): {
  volume: V1Volume;
  mount: V1VolumeMount;
} {
  return { volume: { name, emptyDir: { sizeLimit } }, mount: { name, mountPath } };
}
