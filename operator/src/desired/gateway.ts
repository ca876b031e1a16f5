/**
 * The gateway: the stateless ingestion API, as a Deployment behind a Service
 * and a PodDisruptionBudget.
 */
import type { V1Deployment, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { dataPlanePodTemplate, httpProbe } from './dataplane.ts';
import { dataPlaneSelector, namespacedMeta, type Owner } from './meta.ts';
import { ADMIN_PORT, HTTP_PORT } from './ports.ts';
import { DEFAULT_GATEWAY_RESOURCES, resolveResources } from './resources.ts';

export const GATEWAY_NAME = 'gateway';

export function gatewayDeployment(owner: Owner, spec: DefaultedSpec, configHash: string): V1Deployment {
  const selector = dataPlaneSelector(owner.name, 'gateway');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: namespacedMeta(owner, GATEWAY_NAME, selector),
    spec: {
      replicas: spec.dataPlane.gatewayReplicas,
      selector: { matchLabels: selector },
      // Never below the wanted capacity: a new pod is ready before an old one goes.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: dataPlanePodTemplate(owner, spec, {
        role: 'gateway',
        resources: resolveResources(spec.dataPlane.gatewayResources, DEFAULT_GATEWAY_RESOURCES),
        readinessProbe: httpProbe('/ready', HTTP_PORT, 5, 3),
        livenessProbe: httpProbe('/health', HTTP_PORT, 10, 6),
        terminationGracePeriodSeconds: 30,
        configHash,
      }),
    },
  };
}

export function gatewayService(owner: Owner): V1Service {
  const selector = dataPlaneSelector(owner.name, 'gateway');
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: namespacedMeta(owner, GATEWAY_NAME, selector),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'admin', port: ADMIN_PORT, targetPort: 'admin', protocol: 'TCP' },
      ],
    },
  };
}

export function gatewayDisruptionBudget(owner: Owner): V1PodDisruptionBudget {
  const selector = dataPlaneSelector(owner.name, 'gateway');
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: namespacedMeta(owner, GATEWAY_NAME, selector),
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
}
