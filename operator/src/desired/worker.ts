/**
 * The workers: processor and router of the partitions each owns, as a
 * StatefulSet (stable ordinals are what the partition map assigns to) with a
 * headless Service and a PodDisruptionBudget.
 */
import type { V1PodDisruptionBudget, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { dataPlanePodTemplate, httpProbe } from './dataplane.ts';
import { dataPlaneSelector, namespacedMeta, type Owner } from './meta.ts';
import { ADMIN_PORT } from './ports.ts';
import { DEFAULT_WORKER_RESOURCES, resolveResources } from './resources.ts';

export const WORKER_NAME = 'worker';

/**
 * The worker StatefulSet with `replicas` pods: not always the spec's count,
 * because the handoff plan grows it before the partition map moves and
 * shrinks it only after the leaving workers released their partitions.
 */
export function workerStatefulSet(
  owner: Owner,
  spec: DefaultedSpec,
  configHash: string,
  replicas: number,
): V1StatefulSet {
  const selector = dataPlaneSelector(owner.name, 'worker');
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: namespacedMeta(owner, WORKER_NAME, selector),
    spec: {
      replicas,
      serviceName: WORKER_NAME,
      // Ordering between workers is the partition map's job (epochs and handoffs), not pod start order.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      updateStrategy: { type: 'RollingUpdate' },
      template: dataPlanePodTemplate(owner, spec, {
        role: 'worker',
        resources: resolveResources(spec.dataPlane.workerResources, DEFAULT_WORKER_RESOURCES),
        readinessProbe: httpProbe('/health', ADMIN_PORT, 5, 3),
        livenessProbe: httpProbe('/health', ADMIN_PORT, 10, 6),
        // Time to finish in-flight deliveries and release partitions before the next owner takes over.
        terminationGracePeriodSeconds: 60,
        configHash,
      }),
    },
  };
}

export function workerService(owner: Owner): V1Service {
  const selector = dataPlaneSelector(owner.name, 'worker');
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: namespacedMeta(owner, WORKER_NAME, selector),
    spec: {
      clusterIP: 'None',
      selector,
      ports: [{ name: 'admin', port: ADMIN_PORT, targetPort: 'admin', protocol: 'TCP' }],
    },
  };
}

export function workerDisruptionBudget(owner: Owner): V1PodDisruptionBudget {
  const selector = dataPlaneSelector(owner.name, 'worker');
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: namespacedMeta(owner, WORKER_NAME, selector),
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
}
