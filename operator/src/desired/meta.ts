/**
 * Metadata every desired object carries: the labels that tie it to its
 * RudderInstance and tenant, and the owner reference that lets Kubernetes
 * garbage-collect it with the instance.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';

/** The field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'rudder-operator';
/** Label naming the RudderInstance an object belongs to. */
export const INSTANCE_LABEL = 'rudder.dev/instance';
/** Label naming the tenant an object belongs to. */
export const TENANT_LABEL = 'rudder.dev/tenant';
/** Pod-template annotation whose change rolls the pods when a secret they read at start changes. */
export const CONFIG_HASH_ANNOTATION = 'rudder.dev/config-hash';

export const DATAPLANE_APP = 'rudder-dataplane';
export const POSTGRES_APP = 'rudder-postgres';

/** What the builders need to know about the instance; derived once by `desiredObjects`. */
export interface Owner {
  name: string;
  uid: string;
  tenantId: string;
  namespace: string;
}

/** The namespace of a tenant's data plane. */
export function tenantNamespace(spec: Pick<DefaultedSpec, 'tenantId'>): string {
  return `rudder-${spec.tenantId}`;
}

/** The labels that identify the objects of one instance (and nothing about their role). */
export function instanceLabels(owner: Owner): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    'app.kubernetes.io/part-of': 'rudder',
    [INSTANCE_LABEL]: owner.name,
    [TENANT_LABEL]: owner.tenantId,
  };
}

export function ownerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion: 'rudder.dev/v1alpha1',
    kind: 'RudderInstance',
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a namespaced object of the instance, with `extraLabels` over the instance labels. */
export function namespacedMeta(
  owner: Owner,
  name: string,
  extraLabels: Record<string, string> = {},
): V1ObjectMeta & { name: string; namespace: string } {
  return {
    name,
    namespace: owner.namespace,
    labels: { ...instanceLabels(owner), ...extraLabels },
    ownerReferences: [ownerReference(owner)],
  };
}

/** The selector labels of the data-plane pods of one role. Stable: selectors are immutable. */
export function dataPlaneSelector(
  instanceName: string,
  component: 'gateway' | 'worker',
): Record<string, string> {
  return {
    'app.kubernetes.io/name': DATAPLANE_APP,
    'app.kubernetes.io/instance': instanceName,
    'app.kubernetes.io/component': component,
  };
}

/** The selector labels of the managed Postgres pod. */
export function postgresSelector(instanceName: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': POSTGRES_APP,
    'app.kubernetes.io/instance': instanceName,
    'app.kubernetes.io/component': 'database',
  };
}

/** The label selector of the worker pods, as the scale subresource reports it in `status.selector`. */
export function workerSelector(instanceName: string): string {
  return Object.entries(dataPlaneSelector(instanceName, 'worker'))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}
