/**
 * The ConfigMap that publishes the partition map to the workers. The map is
 * computed by the caller (it depends on the previous one); this only shapes it.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { PartitionMap } from '@rudder/common/partition-map';
import { DATAPLANE_APP, namespacedMeta, type Owner } from './meta.ts';

export const PARTITION_MAP_CONFIGMAP = 'partition-map';
/** The ConfigMap key holding the map as JSON. */
export const PARTITION_MAP_KEY = 'map.json';
/** Label carrying the map's epoch, so that a watcher can see it without parsing the data. */
export const PARTITION_EPOCH_LABEL = 'rudder.dev/partition-epoch';

export function partitionMapConfigMap(owner: Owner, map: PartitionMap): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: namespacedMeta(owner, PARTITION_MAP_CONFIGMAP, {
      'app.kubernetes.io/name': DATAPLANE_APP,
      'app.kubernetes.io/component': 'worker',
      [PARTITION_EPOCH_LABEL]: String(map.epoch),
    }),
    // Fields listed explicitly: the JSON is the workers' contract, whatever else the caller's object holds.
    data: {
      [PARTITION_MAP_KEY]: JSON.stringify({
        epoch: map.epoch,
        partitions: map.partitions,
        replicas: map.replicas,
        owners: map.owners,
      }),
    },
  };
}
