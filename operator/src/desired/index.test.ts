import type { KubernetesObject } from '@kubernetes/client-node';
import { desiredObjects, FIELD_MANAGER, INSTANCE_LABEL, tenantNamespace } from './index.ts';
import { externalDatabase, makeInput } from './test-fixtures.ts';

const ids = (objects: KubernetesObject[]) => objects.map((o) => `${o.kind}/${o.metadata?.name}`);

describe('desiredObjects', () => {
  const input = makeInput({ ingress: { host: 'events.acme.example', tlsSecretName: 'acme-tls' } });
  const objects = desiredObjects(input);

  it('is the full set of named objects, in apply order', () => {
    expect(ids(objects)).toEqual([
      'Namespace/rudder-acme',
      'ResourceQuota/rudder-quota',
      'LimitRange/rudder-limits',
      'NetworkPolicy/default-deny',
      'NetworkPolicy/gateway-ingress',
      'NetworkPolicy/worker-ingress',
      'NetworkPolicy/dataplane-egress',
      'NetworkPolicy/postgres-ingress',
      'ServiceAccount/rudder-dataplane',
      'Role/rudder-dataplane',
      'RoleBinding/rudder-dataplane',
      'Secret/dataplane-token',
      'Secret/postgres-credentials',
      'Secret/database-url',
      'Secret/admin-token',
      'ConfigMap/partition-map',
      'ConfigMap/partition-status',
      'StatefulSet/postgres',
      'Service/postgres',
      'Service/gateway',
      'Service/worker',
      'Deployment/gateway',
      'StatefulSet/worker',
      'PodDisruptionBudget/gateway',
      'PodDisruptionBudget/worker',
      'Ingress/gateway',
    ]);
  });

  it('gives every object apiVersion, kind, name, the instance labels and a controller reference to the instance', () => {
    for (const o of objects) {
      expect(o.apiVersion).toMatch(/^([a-z0-9.]+\/)?v1$/);
      expect(o.kind).toMatch(/^[A-Z]/);
      expect(o.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': FIELD_MANAGER,
        'app.kubernetes.io/part-of': 'rudder',
        [INSTANCE_LABEL]: 'acme',
        'rudder.dev/tenant': 'acme',
      });
      expect(o.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'rudder.dev/v1alpha1',
          kind: 'RudderInstance',
          name: 'acme',
          uid: input.instance.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o).not.toHaveProperty('status');
    }
  });

  it('puts every object but the Namespace in the tenant namespace', () => {
    expect(tenantNamespace(input.spec)).toBe('rudder-acme');
    for (const o of objects)
      expect(o.metadata?.namespace).toBe(o.kind === 'Namespace' ? undefined : 'rudder-acme');
  });

  it('labels objects with the instance name, which may differ from the tenant id', () => {
    const other = desiredObjects({ ...makeInput(), instance: { name: 'acme-prod', uid: 'u-1' } });
    for (const o of other) {
      expect(o.metadata?.labels?.[INSTANCE_LABEL]).toBe('acme-prod');
      expect(o.metadata?.labels?.['rudder.dev/tenant']).toBe('acme');
    }
    expect(other[0]?.metadata?.name).toBe('rudder-acme');
  });

  it('is pure: the same input gives deep-equal output and the input is left as it was', () => {
    const fresh = makeInput(externalDatabase, { externalDatabaseUrl: 'postgres://x:y@db:5432/z' });
    const before = structuredClone(fresh);
    expect(desiredObjects(fresh)).toEqual(desiredObjects(fresh));
    expect(fresh).toEqual(before);
  });

  it('returns objects that do not share structure, so a caller may mutate one freely', () => {
    const a = desiredObjects(input);
    a[0]!.metadata!.labels!['x'] = 'y';
    expect(desiredObjects(input)[0]!.metadata!.labels).not.toHaveProperty('x');
  });
});
