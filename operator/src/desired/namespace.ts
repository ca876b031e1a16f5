/**
 * The tenant namespace and the guardrails on it: Pod Security "restricted",
 * a ResourceQuota sized by the spec, and a LimitRange whose defaults let pods
 * without explicit resources be admitted under that quota.
 */
import type { V1LimitRange, V1Namespace, V1ResourceQuota } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { instanceLabels, namespacedMeta, ownerReference, type Owner } from './meta.ts';
import { quantity } from './resources.ts';

export const QUOTA_NAME = 'rudder-quota';
export const LIMIT_RANGE_NAME = 'rudder-limits';

/** Requests and limits the LimitRange gives a container that declares none. */
export const CONTAINER_DEFAULTS = {
  defaultRequest: { cpu: '100m', memory: '128Mi' },
  default: { cpu: '500m', memory: '512Mi' },
} as const;

const POD_SECURITY_LABELS: Record<string, string> = Object.fromEntries(
  ['enforce', 'audit', 'warn'].flatMap((mode) => [
    [`pod-security.kubernetes.io/${mode}`, 'restricted'],
    [`pod-security.kubernetes.io/${mode}-version`, 'latest'],
  ]),
);

export function namespace(owner: Owner): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: owner.namespace,
      labels: { ...instanceLabels(owner), ...POD_SECURITY_LABELS },
      ownerReferences: [ownerReference(owner)],
    },
  };
}

export function resourceQuota(owner: Owner, spec: DefaultedSpec): V1ResourceQuota {
  const { cpu, memory, storage, pods } = spec.quota;
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: namespacedMeta(owner, QUOTA_NAME),
    spec: {
      hard: {
        'requests.cpu': quantity(cpu),
        'limits.cpu': quantity(cpu),
        'requests.memory': quantity(memory),
        'limits.memory': quantity(memory),
        'requests.storage': quantity(storage),
        pods: String(pods),
        persistentvolumeclaims: '10',
        // Tenants are reached through the gateway Service or the Ingress, never a node or cloud LB of their own.
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      },
    },
  };
}

export function limitRange(owner: Owner, spec: DefaultedSpec): V1LimitRange {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: namespacedMeta(owner, LIMIT_RANGE_NAME),
    spec: {
      limits: [
        {
          type: 'Container',
          defaultRequest: { ...CONTAINER_DEFAULTS.defaultRequest },
          _default: { ...CONTAINER_DEFAULTS.default },
          // No single container may claim more than the whole namespace.
          max: { cpu: quantity(spec.quota.cpu), memory: quantity(spec.quota.memory) },
        },
        { type: 'PersistentVolumeClaim', max: { storage: quantity(spec.quota.storage) } },
      ],
    },
  };
}
