/**
 * What the gateway and worker pods share: one image in two roles, the same
 * environment contract (dataplane/src/config.ts), the same restricted
 * security context and the same secrets.
 */
import type {
  V1Container,
  V1EnvVar,
  V1EnvVarSource,
  V1PodTemplateSpec,
  V1Probe,
} from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { ADMIN_PORT, HTTP_PORT } from './ports.ts';
import { CONFIG_HASH_ANNOTATION, dataPlaneSelector, instanceLabels, type Owner } from './meta.ts';
import { PARTITION_MAP_CONFIGMAP } from './partition-map-config.ts';
import { DATAPLANE_SERVICE_ACCOUNT } from './rbac.ts';
import { toRequirements, type ResolvedResources } from './resources.ts';
import { SECRET_NAMES } from './secrets.ts';
import { DATAPLANE_UID, containerSecurityContext, podSecurityContext, scratchVolume } from './security.ts';

export type DataPlaneRole = 'gateway' | 'worker';

/** Where the data-plane token Secret is mounted; the pods read the token from this file at start. */
export const TOKEN_MOUNT_PATH = '/var/run/secrets/rudder/dataplane-token';
export const TOKEN_FILE = `${TOKEN_MOUNT_PATH}/token`;

export interface PodTemplateOptions {
  role: DataPlaneRole;
  resources: ResolvedResources;
  readinessProbe: V1Probe;
  livenessProbe: V1Probe;
  terminationGracePeriodSeconds: number;
  /** SHA-256 of the secret values the pods read at start (see `configHash`). */
  configHash: string;
}

/** The environment of a data-plane container: literals and references only, never a secret value. */
export function dataPlaneEnv(spec: DefaultedSpec, role: DataPlaneRole): V1EnvVar[] {
  const fromSecret = (name: string, key: string): V1EnvVarSource => ({ secretKeyRef: { name, key } });
  const fromField = (fieldPath: string): V1EnvVarSource => ({ fieldRef: { fieldPath } });
  return [
    { name: 'RUDDER_ROLE', value: role },
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(HTTP_PORT) },
    { name: 'ADMIN_HOST', value: '0.0.0.0' },
    { name: 'ADMIN_PORT', value: String(ADMIN_PORT) },
    { name: 'ADMIN_TOKEN', valueFrom: fromSecret(SECRET_NAMES.adminToken, 'token') },
    { name: 'DATABASE_URL', valueFrom: fromSecret(SECRET_NAMES.databaseUrl, 'url') },
    { name: 'CONTROL_PLANE_URL', value: spec.controlPlane.url },
    { name: 'CONTROL_PLANE_TOKEN_FILE', value: TOKEN_FILE },
    { name: 'PARTITIONS', value: String(spec.dataPlane.partitions) },
    { name: 'LOG_LEVEL', value: spec.dataPlane.logLevel },
    { name: 'POD_NAME', valueFrom: fromField('metadata.name') },
    { name: 'POD_NAMESPACE', valueFrom: fromField('metadata.namespace') },
    ...(role === 'worker'
      ? [
          // The pod name (worker-N): its ordinal is what the partition map assigns partitions to.
          { name: 'WORKER_ID', valueFrom: fromField('metadata.name') },
          { name: 'PARTITION_MAP_SOURCE', value: 'kubernetes' },
          { name: 'PARTITION_MAP_CONFIGMAP', value: PARTITION_MAP_CONFIGMAP },
        ]
      : []),
  ];
}

export function httpProbe(
  path: string,
  port: number,
  periodSeconds: number,
  failureThreshold: number,
): V1Probe {
  return { httpGet: { path, port, scheme: 'HTTP' }, periodSeconds, timeoutSeconds: 2, failureThreshold };
}

export function dataPlanePodTemplate(
  owner: Owner,
  spec: DefaultedSpec,
  options: PodTemplateOptions,
): V1PodTemplateSpec {
  const tmp = scratchVolume('tmp', '/tmp');
  const ports: V1Container['ports'] = [
    ...(options.role === 'gateway' ? [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }] : []),
    { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
  ];
  return {
    metadata: {
      labels: { ...instanceLabels(owner), ...dataPlaneSelector(owner.name, options.role) },
      annotations: { [CONFIG_HASH_ANNOTATION]: options.configHash },
    },
    spec: {
      serviceAccountName: DATAPLANE_SERVICE_ACCOUNT,
      // Only workers talk to the Kubernetes API (to watch the partition map).
      automountServiceAccountToken: options.role === 'worker',
      securityContext: podSecurityContext(DATAPLANE_UID),
      terminationGracePeriodSeconds: options.terminationGracePeriodSeconds,
      containers: [
        {
          name: 'dataplane',
          image: spec.dataPlane.image,
          imagePullPolicy: spec.dataPlane.imagePullPolicy,
          env: dataPlaneEnv(spec, options.role),
          ports,
          readinessProbe: options.readinessProbe,
          livenessProbe: options.livenessProbe,
          resources: toRequirements(options.resources),
          securityContext: containerSecurityContext(DATAPLANE_UID),
          volumeMounts: [{ name: 'dataplane-token', mountPath: TOKEN_MOUNT_PATH, readOnly: true }, tmp.mount],
        },
      ],
      volumes: [
        // Not optional: until the control plane has issued the token, pods wait for the Secret instead of crashing.
        { name: 'dataplane-token', secret: { secretName: SECRET_NAMES.dataplaneToken, defaultMode: 0o440 } },
        tmp.volume,
      ],
    },
  };
}
