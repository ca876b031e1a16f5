import type { V1LimitRange, V1Namespace, V1ResourceQuota } from '@kubernetes/client-node';
import { desiredObjects } from './index.ts';
import { find, makeInput } from './test-fixtures.ts';

describe('tenant namespace', () => {
  it('enforces, audits and warns on the restricted Pod Security profile', () => {
    const ns = find<V1Namespace>(desiredObjects(makeInput()), 'Namespace', 'rudder-acme');
    for (const mode of ['enforce', 'audit', 'warn']) {
      expect(ns.metadata?.labels?.[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
      expect(ns.metadata?.labels?.[`pod-security.kubernetes.io/${mode}-version`]).toBe('latest');
    }
  });

  it('caps the namespace at the spec quota, with no LoadBalancer or NodePort Services', () => {
    const objects = desiredObjects(
      makeInput({ quota: { cpu: 8, memory: '16Gi', storage: '100Gi', pods: 50 } }),
    );
    expect(find<V1ResourceQuota>(objects, 'ResourceQuota', 'rudder-quota').spec!.hard).toEqual({
      'requests.cpu': '8',
      'limits.cpu': '8',
      'requests.memory': '16Gi',
      'limits.memory': '16Gi',
      'requests.storage': '100Gi',
      pods: '50',
      persistentvolumeclaims: '10',
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    });
  });

  it('uses the CRD quota defaults when the spec has none', () => {
    const hard = find<V1ResourceQuota>(desiredObjects(makeInput()), 'ResourceQuota', 'rudder-quota').spec!
      .hard!;
    expect([hard['requests.cpu'], hard['requests.memory'], hard['requests.storage'], hard.pods]).toEqual([
      '16',
      '32Gi',
      '200Gi',
      '200',
    ]);
  });

  it('gives containers without resources default requests and limits, and no container more than the quota', () => {
    const limits = find<V1LimitRange>(desiredObjects(makeInput()), 'LimitRange', 'rudder-limits').spec!
      .limits;
    const item = limits.find((l) => l.type === 'Container')!;
    expect(item.defaultRequest).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(item._default).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(item.max).toEqual({ cpu: '16', memory: '32Gi' });
  });
});
