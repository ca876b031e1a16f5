import type { RudderInstance } from '@rudder/common/rudder-instance';

/**
 * A RudderInstance for tenant `name` as a user would `kubectl apply` it:
 * control plane in rudder-system, managed database, `spec` merged over that.
 */
export function instanceManifest(
  name: string,
  spec: Record<string, unknown> = {},
  image = 'registry.test/rudder/dataplane:1.0.0',
) {
  return {
    apiVersion: 'rudder.dev/v1alpha1',
    kind: 'RudderInstance',
    metadata: { name },
    spec: {
      tenantId: name,
      controlPlane: {
        url: 'http://rudder-controlplane.rudder-system.svc.cluster.local:8070',
        tokenSecretRef: { namespace: 'rudder-system', name: `${name}-dataplane-token` },
      },
      dataPlane: { image },
      database: { managed: {} },
      ...spec,
    },
  };
}

/** The data-plane token Secret the control plane would write for tenant `name`. */
export function tokenSecretManifest(name: string, token: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${name}-dataplane-token`,
      namespace: 'rudder-system',
      labels: { 'app.kubernetes.io/managed-by': 'rudder-controlplane', 'rudder.dev/tenant': name },
    },
    stringData: { token },
  };
}

/** Ready, and the status describes the current generation of the spec. */
export function isReadyAtGeneration(instance: RudderInstance | undefined): boolean {
  return (
    instance?.status?.observedGeneration === instance?.metadata?.generation &&
    instance?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}
