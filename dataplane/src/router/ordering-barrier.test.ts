import type { RouterJob } from '../jobsdb/index.ts';
import { planRound } from './ordering-barrier.ts';

const now = new Date('2026-01-01T00:00:00Z');
let nextId = 1;
function job(user: string, status: RouterJob['status'] = null): RouterJob {
  return {
    dataset: 1,
    jobId: nextId++,
    partitionId: 0,
    workspaceId: 'w',
    sourceId: 's',
    destinationId: 'd',
    userKey: user,
    messageId: `m${nextId}`,
    gwJobId: 0,
    payload: {},
    createdAt: now,
    status,
  };
}
const waiting = (attempts: number, inMs: number): RouterJob['status'] => ({
  state: 'waiting',
  attempts,
  firstAttemptAt: now,
  nextAttemptAt: new Date(now.getTime() + inMs),
});

describe('planRound', () => {
  it('holds later events of a user while an earlier one is retrying, and lets other users proceed', () => {
    const a1 = job('a', waiting(1, 60_000));
    const a2 = job('a');
    const b1 = job('b');
    const b2 = job('b');
    const plan = planRound({ waiting: [a1], fresh: [a2, b1, b2], cursors: new Map() }, now);
    expect(plan.lanes.map((l) => l.map((j) => j.jobId))).toEqual([[b1.jobId, b2.jobId]]);
    expect(plan.held.map((j) => j.jobId)).toEqual([a2.jobId]);
  });

  it('retries a due waiting job first, followed by the user held jobs in order', () => {
    const a1 = job('a', waiting(2, -1));
    const a2 = job('a', waiting(0, 0));
    const a3 = job('a');
    const plan = planRound({ waiting: [a2, a1], fresh: [a3], cursors: new Map() }, now);
    expect(plan.lanes.map((l) => l.map((j) => j.jobId))).toEqual([[a1.jobId, a2.jobId]]);
    expect(plan.held.map((j) => j.jobId)).toEqual([a3.jobId]);
  });

  it('treats the same user id in different partitions as different lanes', () => {
    const x = job('a');
    const y = { ...job('a'), partitionId: 1 };
    const plan = planRound({ waiting: [], fresh: [x, y], cursors: new Map() }, now);
    expect(plan.lanes).toHaveLength(2);
  });
});
