import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { apiTime } from './pod-status.ts';

/** Options for JSON merge patches (client-node sends JSON Patch unless told otherwise). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** What the fake node offers: enough for any test, so scheduling limits never bite. */
export const NODE_CAPACITY = { cpu: '64', memory: '256Gi', pods: '1000', 'ephemeral-storage': '1Ti' };

const HEARTBEAT_MS = 10_000;

/**
 * Registers Node `name` (creating it if needed, clearing the taints the
 * API server adds to new nodes) and reports it Ready; reports again every
 * 10 s so `lastHeartbeatTime` moves like a kubelet's. Returns the function
 * that stops the heartbeat (the Node stays).
 */
export async function registerNode(core: CoreV1Api, name: string): Promise<() => void> {
  const node: V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
        'node.kubernetes.io/instance-type': 'rudder-e2e-process-kubelet',
      },
    },
  };
  try {
    await core.createNode({ body: node });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  // TaintNodesByCondition marks new nodes not-ready; the node-lifecycle
  // controller that would lift the taint is off in the local cluster.
  await core.patchNode({ name, body: { spec: { taints: null, unschedulable: false } } }, MERGE_PATCH);
  const since = apiTime();
  const report = (): Promise<unknown> =>
    core.patchNodeStatus({ name, body: { status: nodeStatus(name, since) } }, MERGE_PATCH);
  await report();
  const timer = setInterval(() => void report().catch(() => {}), HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function nodeStatus(name: string, since: string): Record<string, unknown> {
  const now = apiTime();
  const condition = (type: string, status: string, reason: string): Record<string, string> => ({
    type,
    status,
    reason,
    message: `process kubelet: ${reason}`,
    lastHeartbeatTime: now,
    lastTransitionTime: since,
  });
  return {
    capacity: NODE_CAPACITY,
    allocatable: NODE_CAPACITY,
    conditions: [
      condition('Ready', 'True', 'KubeletReady'),
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
      condition('NetworkUnavailable', 'False', 'RouteCreated'),
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: name,
      systemUUID: name,
      bootID: name,
      kernelVersion: '',
      osImage: 'rudder e2e process kubelet',
      containerRuntimeVersion: 'process://node',
      kubeletVersion: 'v0.0.0-process',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    },
  };
}
