/**
 * The managed jobs database: a single-replica Postgres StatefulSet with a
 * volume, and the Service the data plane reaches it through.
 */
import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { DefaultedSpec, ManagedDatabase } from '@rudder/common/rudder-instance';
import { instanceLabels, namespacedMeta, postgresSelector, type Owner } from './meta.ts';
import { DEFAULT_POSTGRES_RESOURCES, quantity, resolveResources, toRequirements } from './resources.ts';
import { POSTGRES_PORT } from './ports.ts';
import { POSTGRES_DB, POSTGRES_USER, SECRET_NAMES } from './secrets.ts';
import { POSTGRES_UID, containerSecurityContext, podSecurityContext, scratchVolume } from './security.ts';

export const POSTGRES_NAME = 'postgres';
/** The CRD's defaults, for a spec that did not come through the API server. */
export const DEFAULT_POSTGRES_IMAGE = 'postgres:18-alpine';
export const DEFAULT_POSTGRES_STORAGE = '10Gi';

const DATA_DIR = '/var/lib/postgresql/data';

export function postgresObjects(owner: Owner, spec: DefaultedSpec): [V1StatefulSet, V1Service] | [] {
  const managed = spec.database.managed;
  if (managed === undefined) return [];
  return [statefulSet(owner, managed), service(owner)];
}

function statefulSet(owner: Owner, managed: ManagedDatabase): V1StatefulSet {
  const selector = postgresSelector(owner.name);
  const run = scratchVolume('run', '/var/run/postgresql', '16Mi');
  const tmp = scratchVolume('tmp', '/tmp');
  const fromCredentials = (key: string) => ({
    secretKeyRef: { name: SECRET_NAMES.postgresCredentials, key },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: namespacedMeta(owner, POSTGRES_NAME, selector),
    spec: {
      replicas: 1,
      serviceName: POSTGRES_NAME,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...instanceLabels(owner), ...selector } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(POSTGRES_UID),
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: 'postgres',
              image: managed.image ?? DEFAULT_POSTGRES_IMAGE,
              env: [
                { name: 'POSTGRES_USER', valueFrom: fromCredentials('username') },
                { name: 'POSTGRES_PASSWORD', valueFrom: fromCredentials('password') },
                { name: 'POSTGRES_DB', value: POSTGRES_DB },
                // A subdirectory, so that initdb finds an empty directory even when the volume has lost+found.
                { name: 'PGDATA', value: `${DATA_DIR}/pgdata` },
              ],
              ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
              readinessProbe: {
                exec: { command: ['pg_isready', '-U', POSTGRES_USER, '-d', POSTGRES_DB] },
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              livenessProbe: {
                exec: { command: ['pg_isready', '-U', POSTGRES_USER, '-d', POSTGRES_DB] },
                initialDelaySeconds: 30,
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 6,
              },
              resources: toRequirements(resolveResources(managed.resources, DEFAULT_POSTGRES_RESOURCES)),
              securityContext: containerSecurityContext(POSTGRES_UID),
              volumeMounts: [{ name: 'data', mountPath: DATA_DIR }, run.mount, tmp.mount],
            },
          ],
          volumes: [run.volume, tmp.volume],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', labels: { ...selector } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: quantity(managed.storageSize ?? DEFAULT_POSTGRES_STORAGE) } },
            ...(managed.storageClassName !== undefined && { storageClassName: managed.storageClassName }),
          },
        },
      ],
    },
  };
}

function service(owner: Owner): V1Service {
  const selector = postgresSelector(owner.name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: namespacedMeta(owner, POSTGRES_NAME, selector),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'postgres', port: POSTGRES_PORT, targetPort: 'postgres', protocol: 'TCP' }],
    },
  };
}
