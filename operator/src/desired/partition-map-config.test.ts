import type { V1ConfigMap } from '@kubernetes/client-node';
import { computePartitionMap, parsePartitionMap } from '@rudder/common/partition-map';
import { PARTITION_EPOCH_LABEL, PARTITION_MAP_KEY, desiredObjects } from './index.ts';
import { find, makeInput } from './test-fixtures.ts';

describe('partition ConfigMaps', () => {
  it('publishes the map of the input as the workers parse it, with its epoch as a label', () => {
    const map = computePartitionMap(computePartitionMap(undefined, 64, 2), 64, 3);
    const objects = desiredObjects({ ...makeInput(), partitionMap: map });
    const cm = find<V1ConfigMap>(objects, 'ConfigMap', 'partition-map');
    expect(parsePartitionMap(cm.data?.[PARTITION_MAP_KEY])).toEqual(map);
    expect(Object.keys(cm.data ?? {})).toEqual([PARTITION_MAP_KEY]);
    expect(cm.metadata?.labels?.[PARTITION_EPOCH_LABEL]).toBe('2');
  });

  it("creates the report ConfigMap with the operator labels and no data, which stays the workers' own", () => {
    const cm = find<V1ConfigMap>(desiredObjects(makeInput()), 'ConfigMap', 'partition-status');
    // The operator watches what carries its labels: a report wakes the reconcile.
    expect(cm.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'rudder-operator',
      'rudder.dev/instance': 'acme',
      'app.kubernetes.io/component': 'worker',
    });
    // No data and no binaryData at all, not even empty: an applied field would be the operator's to clear.
    expect(Object.keys(cm).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
  });
});
