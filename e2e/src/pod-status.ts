import type { V1Pod } from '@kubernetes/client-node';

/** How a container of a pod is doing, as the process kubelet sees it. */
export interface ContainerState {
  running: boolean;
  ready: boolean;
  /** Why it is not running (`ContainerCreating`, `CrashLoopBackOff`, ...). */
  waiting?: { reason: string; message: string };
  /** RFC 3339, whole seconds (what the API server stores). */
  startedAt: string;
  restartCount: number;
  /** How the previous run ended. */
  lastTermination?: { exitCode: number; signal?: string; startedAt: string; finishedAt: string };
  /** `process://<pid>` or `fake://<uid>`. */
  containerId: string;
}

/** The subset of a pod status this module writes and compares; times may be Dates or strings. */
export interface StatusLike {
  phase?: string;
  podIP?: string;
  hostIP?: string;
  conditions?: { type: string; status: string; lastTransitionTime?: unknown }[];
  containerStatuses?: {
    name: string;
    ready: boolean;
    started?: boolean;
    restartCount: number;
    containerID?: string;
    state?: { running?: { startedAt?: unknown }; waiting?: { reason?: string; message?: string } };
    lastState?: { terminated?: { finishedAt?: unknown } };
  }[];
  initContainerStatuses?: { name: string }[];
}

/** `now` (or `ms`) as the API server stores times: RFC 3339 in whole seconds. */
export function apiTime(ms = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A container the kubelet does not run: up and ready since the pod started. */
export function fakeContainerState(startedAt: string, id: string): ContainerState {
  return { running: true, ready: true, startedAt, restartCount: 0, containerId: `fake://${id}` };
}

/**
 * The status a kubelet would report for `pod`: phase Running, the four usual
 * conditions, a status per container (`states` by container name; containers
 * without one are reported like fake ones), init containers completed.
 * Condition transition times are kept from the current status when the
 * condition did not change, so reporting the same thing twice is a no-op.
 */
export function desiredPodStatus(
  pod: V1Pod,
  states: ReadonlyMap<string, ContainerState>,
  addresses: { podIP: string; hostIP: string; startTime: string },
): StatusLike & Record<string, unknown> {
  const containers = pod.spec?.containers ?? [];
  const fallback = fakeContainerState(addresses.startTime, pod.metadata?.uid ?? '');
  const containerStatuses = containers.map((c) => {
    const s = states.get(c.name) ?? fallback;
    const last = s.lastTermination;
    return {
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      containerID: s.containerId,
      ready: s.ready,
      started: s.running,
      restartCount: s.restartCount,
      state: s.running
        ? { running: { startedAt: s.startedAt } }
        : { waiting: s.waiting ?? { reason: 'ContainerCreating', message: '' } },
      lastState: last
        ? {
            terminated: {
              exitCode: last.exitCode,
              ...(last.signal ? { reason: `Signal ${last.signal}` } : { reason: 'Error' }),
              startedAt: last.startedAt,
              finishedAt: last.finishedAt,
            },
          }
        : {},
    };
  });
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c) => ({
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    ready: true,
    restartCount: 0,
    state: {
      terminated: {
        exitCode: 0,
        reason: 'Completed',
        startedAt: addresses.startTime,
        finishedAt: addresses.startTime,
      },
    },
  }));
  const ready = containerStatuses.every((c) => c.ready);
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const condition = (type: string, ok: boolean) => {
    const status = ok ? 'True' : 'False';
    const before = previous.get(type);
    return {
      type,
      status,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime
          ? apiTime(new Date(before.lastTransitionTime).getTime())
          : apiTime(),
      ...(ok ? {} : { reason: 'ContainersNotReady' }),
    };
  };
  return {
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('ContainersReady', ready),
      condition('Ready', ready),
      condition('PodScheduled', true),
    ],
    hostIP: addresses.hostIP,
    hostIPs: [{ ip: addresses.hostIP }],
    podIP: addresses.podIP,
    podIPs: [{ ip: addresses.podIP }],
    startTime: addresses.startTime,
    containerStatuses,
    initContainerStatuses,
  };
}

/**
 * Whether `current` already says what `desired` says (ignoring how times
 * are spelled: the informer holds Dates after a list and strings after a watch).
 */
export function sameStatus(desired: StatusLike, current: StatusLike | undefined): boolean {
  return JSON.stringify(essence(desired)) === JSON.stringify(essence(current));
}

function essence(status: StatusLike | undefined): unknown {
  const time = (t: unknown): string => (t ? apiTime(new Date(t as string).getTime()) : '');
  return {
    phase: status?.phase,
    podIP: status?.podIP,
    hostIP: status?.hostIP,
    conditions: (status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort(),
    containers: (status?.containerStatuses ?? []).map((c) => [
      c.name,
      c.ready,
      c.started,
      c.restartCount,
      c.containerID,
      time(c.state?.running?.startedAt),
      c.state?.waiting?.reason,
      c.state?.waiting?.message,
      time(c.lastState?.terminated?.finishedAt),
    ]),
    init: (status?.initContainerStatuses ?? []).map((c) => c.name),
  };
}
