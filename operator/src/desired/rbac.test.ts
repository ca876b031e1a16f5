import type { V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { desiredObjects } from './index.ts';
import { find, makeInput } from './test-fixtures.ts';

describe('data-plane RBAC', () => {
  const objects = desiredObjects(makeInput());

  it('lets the data plane read the partition map and the reports, and patch only the reports', () => {
    expect(find<V1Role>(objects, 'Role', 'rudder-dataplane').rules).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['partition-map', 'partition-status'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['partition-status'],
        verbs: ['patch'],
      },
    ]);
  });

  it("binds the Role to the data plane's ServiceAccount in the tenant namespace", () => {
    const binding = find<V1RoleBinding>(objects, 'RoleBinding', 'rudder-dataplane');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'rudder-dataplane',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'rudder-dataplane', namespace: 'rudder-acme' },
    ]);
  });
});
