import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { desiredObjects } from './index.ts';
import { DEFAULT_POSTGRES_RESOURCES } from './resources.ts';
import { container, find, makeInput } from './test-fixtures.ts';

describe('managed Postgres', () => {
  it('runs the spec image as uid 70 on a claim of the spec size, credentials from the Secret', () => {
    const objects = desiredObjects(
      makeInput({
        database: {
          managed: {
            image: 'postgres:17-alpine',
            storageSize: '50Gi',
            storageClassName: 'fast-ssd',
            resources: { limits: { memory: '4Gi' } },
          },
        },
      }),
    );
    const statefulSet = find<V1StatefulSet>(objects, 'StatefulSet', 'postgres').spec!;
    expect(statefulSet.replicas).toBe(1);
    expect(statefulSet.serviceName).toBe('postgres');
    expect(statefulSet.template.metadata?.labels?.['app.kubernetes.io/name']).toBe('rudder-postgres');
    expect(statefulSet.template.spec!.securityContext).toMatchObject({
      runAsUser: 70,
      fsGroup: 70,
      runAsNonRoot: true,
    });
    const claim = statefulSet.volumeClaimTemplates![0]!;
    expect(claim.metadata?.name).toBe('data');
    expect(claim.spec).toMatchObject({
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '50Gi' } },
    });

    const c = container(objects, 'StatefulSet', 'postgres');
    expect(c.image).toBe('postgres:17-alpine');
    expect(c.env).toEqual([
      {
        name: 'POSTGRES_USER',
        valueFrom: { secretKeyRef: { name: 'postgres-credentials', key: 'username' } },
      },
      {
        name: 'POSTGRES_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'postgres-credentials', key: 'password' } },
      },
      { name: 'POSTGRES_DB', value: 'rudder' },
      { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
    ]);
    expect(c.ports).toEqual([{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }]);
    expect(c.readinessProbe?.exec?.command).toEqual(['pg_isready', '-U', 'rudder', '-d', 'rudder']);
    expect(c.resources).toEqual({
      requests: DEFAULT_POSTGRES_RESOURCES.requests,
      limits: { cpu: DEFAULT_POSTGRES_RESOURCES.limits.cpu, memory: '4Gi' },
    });
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });

    const service = find<V1Service>(objects, 'Service', 'postgres').spec!;
    expect(service.type).toBe('ClusterIP');
    expect(service.ports).toEqual([
      { name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' },
    ]);
    expect(service.selector).toEqual(statefulSet.selector.matchLabels);
  });

  it('uses the CRD defaults and no storage class unless one is named', () => {
    const statefulSet = find<V1StatefulSet>(desiredObjects(makeInput()), 'StatefulSet', 'postgres').spec!;
    expect(statefulSet.template.spec!.containers[0]!.image).toBe('postgres:18-alpine');
    const claim = statefulSet.volumeClaimTemplates![0]!.spec!;
    expect(claim.resources?.requests).toEqual({ storage: '10Gi' });
    expect(claim).not.toHaveProperty('storageClassName');
  });
});
