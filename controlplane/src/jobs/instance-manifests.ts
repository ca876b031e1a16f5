import { RUDDER_INSTANCE_RESOURCE, type RudderInstance } from '@rudder/common/rudder-instance';

/** The RudderInstance custom resource (cluster-scoped: it owns the tenant's namespace); its CRD is in crds/. */
export const RUDDER_INSTANCE = RUDDER_INSTANCE_RESOURCE;

/** Server-side apply field manager of everything the control plane writes to the cluster. */
export const FIELD_MANAGER = 'rudder-controlplane';

/** The key of the data-plane token in its Secret. */
export const TOKEN_SECRET_KEY = 'token';

const MANAGED_BY = { 'app.kubernetes.io/managed-by': FIELD_MANAGER };

export function tokenSecretName(tenantId: string): string {
  return `${tenantId}-dataplane-token`;
}

/** The Secret holding a tenant's data-plane token, which its RudderInstance refers to. */
export function tokenSecretManifest(input: { tenantId: string; namespace: string; token: string }): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: tokenSecretName(input.tenantId),
      namespace: input.namespace,
      labels: { ...MANAGED_BY, 'rudder.dev/tenant': input.tenantId },
    },
    type: 'Opaque',
    // `data`, not `stringData`: stringData is write-only, so server-side apply could not track it.
    data: { [TOKEN_SECRET_KEY]: Buffer.from(input.token, 'utf8').toString('base64') },
  };
}

/** The tenant's RudderInstance as onboarding creates it; the operator fills in the rest by defaults. */
export function rudderInstanceManifest(input: {
  tenantId: string;
  controlPlaneUrl: string;
  image: string;
  secretNamespace: string;
}): RudderInstance & { apiVersion: string; kind: string } {
  return {
    apiVersion: `${RUDDER_INSTANCE.group}/${RUDDER_INSTANCE.version}`,
    kind: RUDDER_INSTANCE.kind,
    metadata: { name: input.tenantId, labels: { ...MANAGED_BY, 'rudder.dev/tenant': input.tenantId } },
    spec: {
      tenantId: input.tenantId,
      controlPlane: {
        url: input.controlPlaneUrl,
        tokenSecretRef: {
          namespace: input.secretNamespace,
          name: tokenSecretName(input.tenantId),
          key: TOKEN_SECRET_KEY,
        },
      },
      dataPlane: { image: input.image, replicas: 1, partitions: 64 },
      database: { managed: {} },
    },
  };
}

/** The Ready condition of a RudderInstance's status, as the Kube interface reports it. */
export function readyOf(instance: unknown): { ready: boolean; message: string } {
  const conditions = (instance as { status?: { conditions?: unknown } }).status?.conditions;
  const ready = Array.isArray(conditions)
    ? (conditions as { type?: unknown; status?: unknown; reason?: unknown; message?: unknown }[]).find(
        (c) => c.type === 'Ready',
      )
    : undefined;
  if (!ready) return { ready: false, message: 'waiting for the operator to report Ready' };
  const text = [ready.reason, ready.message].filter((s) => typeof s === 'string' && s !== '').join(': ');
  return { ready: ready.status === 'True', message: text };
}
