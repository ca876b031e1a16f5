/**
 * The data plane's identity: one ServiceAccount that may read the two
 * ConfigMaps of the partition handoff (the workers watch the map and their
 * reports) and patch the reports, nothing else.
 */
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { DATAPLANE_APP, namespacedMeta, type Owner } from './meta.ts';
import { PARTITION_MAP_CONFIGMAP, PARTITION_STATUS_CONFIGMAP } from './partition-map-config.ts';

export const DATAPLANE_SERVICE_ACCOUNT = 'rudder-dataplane';

const labels = { 'app.kubernetes.io/name': DATAPLANE_APP };

export function rbacObjects(owner: Owner): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const serviceAccount: V1ServiceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: namespacedMeta(owner, DATAPLANE_SERVICE_ACCOUNT, labels),
    // Workers need an API token to watch the partition map; the gateway's pod spec opts out.
    automountServiceAccountToken: true,
  };
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: namespacedMeta(owner, DATAPLANE_SERVICE_ACCOUNT, labels),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [PARTITION_MAP_CONFIGMAP, PARTITION_STATUS_CONFIGMAP],
        verbs: ['get', 'list', 'watch'],
      },
      // Server-side apply of a worker's own report key. No create: the operator makes the ConfigMap.
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [PARTITION_STATUS_CONFIGMAP],
        verbs: ['patch'],
      },
    ],
  };
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: namespacedMeta(owner, DATAPLANE_SERVICE_ACCOUNT, labels),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: DATAPLANE_SERVICE_ACCOUNT },
    subjects: [{ kind: 'ServiceAccount', name: DATAPLANE_SERVICE_ACCOUNT, namespace: owner.namespace }],
  };
  return [serviceAccount, role, binding];
}
