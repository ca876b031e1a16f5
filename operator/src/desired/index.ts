/**
 * The operator's desired state: every Kubernetes object a RudderInstance
 * should have, as a pure function of its spec, the secret values gathered
 * for it and the partition map. No cluster access here; the reconciler
 * applies the result with server-side apply and prunes what is no longer in it.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import type { PartitionMap } from '@rudder/common/partition-map';
import { gatewayDeployment, gatewayDisruptionBudget, gatewayService } from './gateway.ts';
import { gatewayIngress } from './ingress.ts';
import { tenantNamespace, type Owner } from './meta.ts';
import { limitRange, namespace, resourceQuota } from './namespace.ts';
import { DEFAULT_CONTROL_PLANE_POD_SELECTOR, networkPolicies } from './network-policies.ts';
import { partitionMapConfigMap, partitionStatusConfigMap } from './partition-map-config.ts';
import { postgresObjects } from './postgres.ts';
import { rbacObjects } from './rbac.ts';
import { configHash, secretObjects, type DesiredSecrets } from './secrets.ts';
import { workerDisruptionBudget, workerService, workerStatefulSet } from './worker.ts';
import { autoscalingObjects } from './worker-pool.ts';

export {
  CONFIG_HASH_ANNOTATION,
  FIELD_MANAGER,
  INSTANCE_LABEL,
  TENANT_LABEL,
  instanceLabels,
  tenantNamespace,
  workerSelector,
} from './meta.ts';
export { ingestEndpoint } from './ingress.ts';
export {
  DEFAULT_GATEWAY_RESOURCES,
  DEFAULT_POSTGRES_RESOURCES,
  DEFAULT_WORKER_RESOURCES,
} from './resources.ts';
export { MissingSecretError, SECRET_NAMES, type DesiredSecrets } from './secrets.ts';
export {
  PARTITION_EPOCH_LABEL,
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
} from './partition-map-config.ts';
export { GATEWAY_NAME } from './gateway.ts';
export { WORKER_NAME } from './worker.ts';
export {
  WORKER_POOL_NAME,
  WORKER_POOL_RESOURCE,
  desiredWorkers,
  workerPoolSeed,
  workerPoolStatus,
  type DesiredWorkers,
  type ReplicasSource,
  type WorkerPool,
  type WorkerPoolStatus,
} from './worker-pool.ts';
export { POSTGRES_NAME } from './postgres.ts';
export { DEFAULT_CONTROL_PLANE_POD_SELECTOR } from './network-policies.ts';
export { toManifest } from './manifest.ts';

export interface DesiredInput {
  /** The RudderInstance (cluster-scoped; its name is usually the tenant id). */
  instance: { name: string; uid: string };
  /** The spec with the CRD's defaults applied. */
  spec: DefaultedSpec;
  secrets: DesiredSecrets;
  /** The map the workers should see, from the caller's handoff plan (see planHandoff). */
  partitionMap: PartitionMap;
  /**
   * The worker StatefulSet's replicas from the same plan, which lag the
   * desired count (see desiredWorkers) while partitions are handed over;
   * spec.dataPlane.replicas when unset.
   */
  workerReplicas?: number | undefined;
  /** Where the operator and the control plane run, for NetworkPolicy peers. */
  operatorNamespace: string;
  /** Labels of the control-plane pods; DEFAULT_CONTROL_PLANE_POD_SELECTOR when unset. */
  controlPlanePodSelector?: Record<string, string> | undefined;
  /**
   * Addresses of the Kubernetes API server as pods reach it after Service
   * translation (the `kubernetes` EndpointSlice in `default`). When given,
   * workers may reach them, which they need to watch the partition map under
   * the namespace's default-deny egress.
   */
  apiServerEndpoints?: ReadonlyArray<{ ip: string; port: number }> | undefined;
}

/**
 * Every object the instance should have, in the order to apply them: the
 * Namespace, then its guardrails, identity, secrets and config, then the
 * database, Services, workloads, disruption budgets, the worker autoscaling
 * (WorkerPool and HorizontalPodAutoscaler, with spec.dataPlane.autoscaling)
 * and the Ingress.
 * Throws MissingSecretError when an external database's URL is missing.
 */
export function desiredObjects(input: DesiredInput): KubernetesObject[] {
  const { spec } = input;
  const owner: Owner = {
    name: input.instance.name,
    uid: input.instance.uid,
    tenantId: spec.tenantId,
    namespace: tenantNamespace(spec),
  };
  const hash = configHash(owner, spec, input.secrets);
  const network = {
    operatorNamespace: input.operatorNamespace,
    controlPlanePodSelector: input.controlPlanePodSelector ?? { ...DEFAULT_CONTROL_PLANE_POD_SELECTOR },
    apiServerEndpoints: input.apiServerEndpoints ?? [],
  };
  const [postgres, postgresService] = postgresObjects(owner, spec);
  return [
    namespace(owner),
    resourceQuota(owner, spec),
    limitRange(owner, spec),
    ...networkPolicies(owner, spec, network),
    ...rbacObjects(owner),
    ...secretObjects(owner, spec, input.secrets),
    partitionMapConfigMap(owner, input.partitionMap),
    partitionStatusConfigMap(owner),
    ...(postgres && postgresService ? [postgres, postgresService] : []),
    gatewayService(owner),
    workerService(owner),
    gatewayDeployment(owner, spec, hash),
    workerStatefulSet(owner, spec, hash, input.workerReplicas ?? spec.dataPlane.replicas),
    gatewayDisruptionBudget(owner),
    workerDisruptionBudget(owner),
    ...autoscalingObjects(owner, spec),
    ...gatewayIngress(owner, spec),
  ];
}
