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
});
