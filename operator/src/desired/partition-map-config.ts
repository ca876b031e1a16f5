/**
 * The ConfigMaps of the partition handoff: `partition-map` publishes the map
 * to the workers (computed by the caller, see planHandoff; this only shapes
 * it), `partition-status` is where each worker reports its progress under its
 * own key.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
  type PartitionMap,
} from '@rudder/common/partition-map';
import { DATAPLANE_APP, namespacedMeta, type Owner } from './meta.ts';

export { PARTITION_MAP_CONFIGMAP, PARTITION_MAP_KEY, PARTITION_STATUS_CONFIGMAP };
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

/**
 * The workers' report ConfigMap, without `data`: each worker server-side
 * applies its own `data[<worker id>]` under its own field manager, and an
 * apply only removes the fields its manager owned before, so the operator
 * applying this object never touches a report. The operator's labels stay
 * its own too, which keeps the ConfigMap in the operator's watch: a report
 * wakes the reconcile that sequences the handoff.
 */
export function partitionStatusConfigMap(owner: Owner): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: namespacedMeta(owner, PARTITION_STATUS_CONFIGMAP, {
      'app.kubernetes.io/name': DATAPLANE_APP,
      'app.kubernetes.io/component': 'worker',
    }),
  };
}
