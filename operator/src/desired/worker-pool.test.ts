import { readFileSync } from 'node:fs';
import type { KubernetesObject, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { desiredObjects } from './index.ts';
import { find, has, makeInput } from './test-fixtures.ts';
import {
  WORKER_POOL_RESOURCE,
  desiredWorkers,
  workerPoolSeed,
  workerPoolStatus,
  type WorkerPool,
  type WorkerPoolSpec,
  type WorkerPoolStatus,
} from './worker-pool.ts';

const autoscaled = makeInput({
  dataPlane: {
    image: 'ghcr.io/rudder/dataplane:1.2.3',
    replicas: 1,
    autoscaling: { minReplicas: 3, maxReplicas: 5 },
  },
});
const owner = { name: 'acme', uid: autoscaled.instance.uid, tenantId: 'acme', namespace: 'rudder-acme' };

describe('worker autoscaling objects', () => {
  it('adds a WorkerPool and its HorizontalPodAutoscaler only when autoscaling is set', () => {
    const plain = desiredObjects(makeInput());
    expect(has(plain, 'WorkerPool', 'worker')).toBe(false);
    expect(has(plain, 'HorizontalPodAutoscaler', 'worker')).toBe(false);

    const objects = desiredObjects(autoscaled);
    const pool = find<WorkerPool & KubernetesObject>(objects, 'WorkerPool', 'worker');
    expect(pool).toMatchObject({
      apiVersion: 'rudder.dev/v1alpha1',
      metadata: { namespace: 'rudder-acme', labels: { 'rudder.dev/instance': 'acme' } },
    });
    const hpa = find<V2HorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', 'worker');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.metadata?.namespace).toBe('rudder-acme');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'rudder.dev/v1alpha1', kind: 'WorkerPool', name: 'worker' },
      minReplicas: 3,
      maxReplicas: 5,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    });
  });

  it('applies the WorkerPool without spec.replicas, so the operator never owns what the HPA writes', () => {
    const pool = find<WorkerPool & KubernetesObject>(desiredObjects(autoscaled), 'WorkerPool', 'worker');
    expect(pool.spec?.replicas).toBeUndefined();
    expect(pool).not.toHaveProperty('status');
  });

  it('creates a missing WorkerPool at the count it is given, never at 0 (an HPA leaves a target at 0 alone)', () => {
    expect(workerPoolSeed(owner, 4).spec).toEqual({ replicas: 4 });
    expect(workerPoolSeed(owner, 0).spec).toEqual({ replicas: 1 });
    expect(workerPoolSeed(owner, 4).metadata).toEqual(
      find(desiredObjects(autoscaled), 'WorkerPool', 'worker').metadata,
    );
  });

  it('reports the worker pods that exist and their selector in the WorkerPool status', () => {
    expect(workerPoolStatus('acme', 3)).toEqual({
      replicas: 3,
      selector:
        'app.kubernetes.io/name=rudder-dataplane,app.kubernetes.io/instance=acme,app.kubernetes.io/component=worker',
    });
  });
});

describe('desiredWorkers', () => {
  it('is spec.dataPlane.replicas without autoscaling, whatever a WorkerPool says', () => {
    const spec = makeInput({ dataPlane: { image: 'x', replicas: 4 } }).spec;
    expect(desiredWorkers(spec, 9)).toEqual({ replicas: 4, source: 'Spec' });
  });

  it("follows the WorkerPool's spec.replicas, clamped to the autoscaling bounds", () => {
    const { spec } = autoscaled;
    expect(desiredWorkers(spec, 4)).toEqual({ replicas: 4, source: 'WorkerPool' });
    expect(desiredWorkers(spec, 1)).toEqual({ replicas: 3, source: 'WorkerPool' });
    expect(desiredWorkers(spec, 0)).toEqual({ replicas: 3, source: 'WorkerPool' });
    expect(desiredWorkers(spec, 10)).toEqual({ replicas: 5, source: 'WorkerPool' });
  });

  it('falls back to spec.dataPlane.replicas, clamped, when no count is known', () => {
    expect(desiredWorkers(autoscaled.spec, undefined)).toEqual({ replicas: 3, source: 'WorkerPool' });
  });
});

describe('the WorkerPool CRD', () => {
  interface Crd {
    spec: {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: {
        name: string;
        subresources: { scale: Record<string, string> };
        schema: { openAPIV3Schema: { properties: Record<string, { properties: Record<string, unknown> }> } };
      }[];
    };
  }
  const crd = parse(
    readFileSync(new URL('../../../crds/rudder.dev_workerpools.yaml', import.meta.url), 'utf8'),
  ) as Crd;
  const version = crd.spec.versions[0]!;

  it('names the resource the operator uses, namespaced', () => {
    expect({
      group: crd.spec.group,
      version: version.name,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
    }).toEqual(WORKER_POOL_RESOURCE);
    expect(crd.spec.scope).toBe('Namespaced');
  });

  it('has the fields of the TypeScript type, and a scale subresource over them', () => {
    // Every field of the types, so that adding one to either side fails here.
    const spec: Required<WorkerPoolSpec> = { replicas: 1 };
    const status: Required<WorkerPoolStatus> = { replicas: 1, selector: 'a=b' };
    const props = version.schema.openAPIV3Schema.properties;
    expect(Object.keys(props['spec']!.properties).sort()).toEqual(Object.keys(spec).sort());
    expect(Object.keys(props['status']!.properties).sort()).toEqual(Object.keys(status).sort());
    expect(version.subresources.scale).toEqual({
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
  });
});
