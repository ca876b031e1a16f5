import type { V1Pod } from '@kubernetes/client-node';
import { apiTime, desiredPodStatus, sameStatus, type ContainerState } from './pod-status.ts';

const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'a', uid: 'u-1' },
  spec: {
    initContainers: [{ name: 'migrate', image: 'm' }],
    containers: [
      { name: 'main', image: 'i' },
      { name: 'sidecar', image: 's' },
    ],
  },
};
const addresses = { podIP: '10.244.0.2', hostIP: '127.0.0.1', startTime: '2026-01-01T00:00:00Z' };

test('apiTime drops milliseconds, as the API server stores times', () => {
  expect(apiTime(Date.parse('2026-01-01T00:00:01.999Z'))).toBe('2026-01-01T00:00:01Z');
});

test('a pod with a container still starting is Running but not Ready', () => {
  const starting: ContainerState = {
    running: false,
    ready: false,
    waiting: { reason: 'ContainerCreating', message: '' },
    startedAt: addresses.startTime,
    restartCount: 0,
    containerId: '',
  };
  const status = desiredPodStatus(pod, new Map([['main', starting]]), addresses);
  expect(status.phase).toBe('Running');
  expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  expect(status.containerStatuses?.map((c) => [c.name, c.ready, c.state])).toEqual([
    ['main', false, { waiting: { reason: 'ContainerCreating', message: '' } }],
    ['sidecar', true, { running: { startedAt: addresses.startTime } }],
  ]);
  expect(status.initContainerStatuses?.map((c) => c.name)).toEqual(['migrate']);
});

test('reporting the same state again is recognised as no change, whatever the time types', () => {
  const status = desiredPodStatus(pod, new Map(), addresses);
  expect(status.conditions?.every((c) => c.status === 'True')).toBe(true);
  // What the informer holds after a list: times as Dates.
  const listed = JSON.parse(JSON.stringify(status)) as typeof status;
  for (const c of listed.containerStatuses ?? []) {
    if (c.state?.running) c.state.running.startedAt = new Date(addresses.startTime);
  }
  expect(
    sameStatus(
      desiredPodStatus({ ...pod, status: listed } as unknown as V1Pod, new Map(), addresses),
      listed,
    ),
  ).toBe(true);
  const restarted = desiredPodStatus(
    pod,
    new Map([
      [
        'main',
        { running: true, ready: true, startedAt: addresses.startTime, restartCount: 1, containerId: 'x' },
      ],
    ]),
    addresses,
  );
  expect(sameStatus(restarted, listed)).toBe(false);
});
