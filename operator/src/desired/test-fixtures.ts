/**
 * Inputs and lookups shared by the desired-state tests.
 */
import type {
  KubernetesObject,
  V1Container,
  V1Deployment,
  V1PodTemplateSpec,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { defaultedSpec, type RudderInstanceSpec } from '@rudder/common/rudder-instance';
import { computePartitionMap } from '@rudder/common/partition-map';
import type { DesiredInput } from './index.ts';

export const SECRETS = {
  postgresPassword: 'pg-p@ss/word:#1',
  adminToken: 'admin-token-0123456789',
  dataplaneToken: 'dp-token-abcdefghij',
};
export const EXTERNAL_URL = 'postgres://app:ext-secret-pw@db.example.com:5432/rudder?sslmode=require';

export function baseSpec(overrides: Partial<RudderInstanceSpec> = {}): RudderInstanceSpec {
  return {
    tenantId: 'acme',
    controlPlane: {
      url: 'http://controlplane.rudder-system.svc.cluster.local:8070',
      tokenSecretRef: { namespace: 'rudder-system', name: 'dataplane-token-acme' },
    },
    dataPlane: { image: 'ghcr.io/rudder/dataplane:1.2.3' },
    database: { managed: {} },
    ...overrides,
  };
}

export function makeInput(
  overrides: Partial<RudderInstanceSpec> = {},
  secrets: Partial<DesiredInput['secrets']> = {},
): DesiredInput {
  const spec = defaultedSpec(baseSpec(overrides));
  return {
    instance: { name: 'acme', uid: '6f1c9a52-0d7e-4b8e-9a43-2f1f6a0c1d11' },
    spec,
    secrets: { ...SECRETS, ...secrets },
    partitionMap: computePartitionMap(undefined, spec.dataPlane.partitions, spec.dataPlane.replicas),
    operatorNamespace: 'rudder-system',
  };
}

export const externalDatabase: Partial<RudderInstanceSpec> = {
  database: {
    external: { urlSecretRef: { namespace: 'tenants', name: 'acme-db' }, egressCIDR: '203.0.113.0/24' },
  },
};

export function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found as T;
}

export function has(objects: KubernetesObject[], kind: string, name: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata?.name === name);
}

/** Every pod template among the objects, by workload name. */
export function podTemplates(objects: KubernetesObject[]): Map<string, V1PodTemplateSpec> {
  const templates = new Map<string, V1PodTemplateSpec>();
  for (const o of objects)
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet')
      templates.set(`${o.kind}/${o.metadata?.name}`, (o as V1Deployment | V1StatefulSet).spec!.template);
  return templates;
}

export function container(objects: KubernetesObject[], kind: string, name: string): V1Container {
  const workload = find<V1Deployment | V1StatefulSet>(objects, kind, name);
  return workload.spec!.template.spec!.containers[0]!;
}
