import type * as k8s from '@kubernetes/client-node';
import { workerSetOf } from './partition-api.ts';

describe('workerSetOf', () => {
  it('reads the replicas the StatefulSet keeps and its ready pods', () => {
    expect(
      workerSetOf({
        metadata: { generation: 3 },
        spec: { replicas: 5, selector: {}, serviceName: 'worker', template: {} },
        status: { observedGeneration: 3, replicas: 5, readyReplicas: 4 },
      }),
    ).toEqual({ replicas: 5, readyReplicas: 4 });
  });

  it('counts no ready pods until the controller has seen the latest spec', () => {
    expect(
      workerSetOf({
        metadata: { generation: 4 },
        spec: { replicas: 5, selector: {}, serviceName: 'worker', template: {} },
        status: { observedGeneration: 3, replicas: 2, readyReplicas: 2 },
      }),
    ).toEqual({ replicas: 5, readyReplicas: 0 });
  });

  it('defaults replicas to 1 as the API server does', () => {
    expect(workerSetOf({ spec: { selector: {}, serviceName: 'worker', template: {} } })).toEqual({
      replicas: 1,
      readyReplicas: 0,
    });
  });

  it("tells when each ordinal's running container started, from its pods", () => {
    const pod = (name: string, running?: Date): k8s.V1Pod => ({
      metadata: { name },
      status: {
        containerStatuses: [
          {
            name: 'dataplane',
            image: 'rudder/dataplane',
            imageID: '',
            ready: running !== undefined,
            restartCount: 1,
            state: running
              ? { running: { startedAt: running } }
              : { waiting: { reason: 'CrashLoopBackOff' } },
          },
        ],
      },
    });
    const set = workerSetOf(
      {
        metadata: { name: 'worker', generation: 1 },
        spec: { replicas: 3, selector: {}, serviceName: 'worker', template: {} },
        status: { observedGeneration: 1, replicas: 3, readyReplicas: 2 },
      },
      [
        pod('worker-0', new Date('2026-11-21T10:00:00Z')),
        pod('worker-1'),
        pod('worker-2', new Date('2026-11-21T10:05:07Z')),
        // Not one of the StatefulSet's ordinals.
        pod('worker-canary', new Date('2026-11-21T10:00:00Z')),
      ],
    );
    expect(set).toEqual({
      replicas: 3,
      readyReplicas: 2,
      started: new Map([
        [0, '2026-11-21T10:00:00.000Z'],
        [2, '2026-11-21T10:05:07.000Z'],
      ]),
    });
  });
});
