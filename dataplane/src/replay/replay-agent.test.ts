import { createLogger } from '@rudder/common';
import { ReplayAgent } from './replay-agent.ts';
import type { ChunkOutcome } from './replay-executor.ts';
import type { ReplayApi } from './replay-api.ts';
import type { Replay, ReplayReport } from './types.ts';

function replay(id: string): Replay {
  return { id, sourceId: 's', destinationId: 'd', from: new Date(0), to: new Date(1000) };
}

/** A control plane double: lists `replays`, records reports, can be down or answer "gone". */
class FakeApi implements ReplayApi {
  replays: Replay[] = [];
  down = false;
  gone = new Set<string>();
  reports: { id: string; report: ReplayReport }[] = [];
  lists = 0;

  list(): Promise<Replay[]> {
    this.lists++;
    return this.down ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve([...this.replays]);
  }

  report(id: string, report: ReplayReport): Promise<'accepted' | 'gone'> {
    if (this.down) return Promise.reject(new Error('ECONNREFUSED'));
    this.reports.push({ id, report });
    return Promise.resolve(this.gone.has(id) ? 'gone' : 'accepted');
  }
}

/** An executor double: each replay has `total` events, enqueued `chunk` at a time. */
class FakeExecutor {
  done = new Map<string, number>();
  calls: string[] = [];
  failure = new Map<string, string>();
  private readonly total: number;
  private readonly chunk: number;
  constructor(total: number, chunk: number) {
    this.total = total;
    this.chunk = chunk;
  }

  runChunk(r: Replay): Promise<ChunkOutcome> {
    this.calls.push(r.id);
    const error = this.failure.get(r.id);
    if (error) return Promise.resolve({ kind: 'failed', replayed: 0, total: this.total, error });
    const replayed = Math.min(this.total, (this.done.get(r.id) ?? 0) + this.chunk);
    this.done.set(r.id, replayed);
    return Promise.resolve({
      kind: 'progressed',
      replayed,
      total: this.total,
      done: replayed === this.total,
    });
  }
}

let clock = 0;
function agent(api: FakeApi, executor: FakeExecutor): ReplayAgent {
  return new ReplayAgent({
    api,
    executor,
    pollMs: 5_000,
    logger: createLogger('test', { level: 'silent' }),
    reportBackoff: { baseMs: 1_000, maxMs: 1_000 },
    random: () => 0.999,
    now: () => clock,
  });
}

beforeEach(() => {
  clock = 1_000_000;
});

it('reports running after every chunk, then completed, and nothing more once accepted', async () => {
  const api = new FakeApi();
  api.replays = [replay('r1')];
  const a = agent(api, new FakeExecutor(25, 10));
  expect(await a.step()).toBe(0);
  expect(await a.step()).toBe(0);
  expect(await a.step()).toBe(5_000);
  await a.step();
  expect(api.reports.map((r) => r.report)).toEqual([
    { status: 'running', replayed: 10, total: 25 },
    { status: 'running', replayed: 20, total: 25 },
    { status: 'completed', replayed: 25, total: 25 },
  ]);
});

it('runs one chunk of every replay per round', async () => {
  const api = new FakeApi();
  api.replays = [replay('r1'), replay('r2')];
  const executor = new FakeExecutor(100, 10);
  const a = agent(api, executor);
  await a.step();
  await a.step();
  expect(executor.calls).toEqual(['r1', 'r2', 'r1', 'r2']);
});

it('stops a replay the control plane answers 404/409 for, and keeps the others going', async () => {
  const api = new FakeApi();
  api.replays = [replay('r1'), replay('r2')];
  api.gone.add('r1');
  const executor = new FakeExecutor(100, 10);
  const a = agent(api, executor);
  await a.step();
  clock += 10_000; // the next round lists again, and the control plane still lists r1
  await a.step();
  await a.step();
  expect(executor.calls).toEqual(['r1', 'r2', 'r2', 'r2']);
});

it('keeps running while the control plane is down and sends the latest report once it is back', async () => {
  const api = new FakeApi();
  api.replays = [replay('r1')];
  const executor = new FakeExecutor(30, 10);
  const a = agent(api, executor);
  await a.step();
  api.down = true;
  clock += 10_000;
  await a.step(); // the listing fails: the known replay keeps running
  await a.step();
  expect(executor.done.get('r1')).toBe(30);
  expect(api.reports).toHaveLength(1);

  api.down = false;
  await a.step(); // still inside the report backoff: nothing sent
  expect(api.reports).toHaveLength(1);
  clock += 1_000;
  await a.step();
  expect(api.reports.map((r) => r.report)).toEqual([
    { status: 'running', replayed: 10, total: 30 },
    { status: 'completed', replayed: 30, total: 30 },
  ]);
});

it('reports a replay that cannot run as failed, with the reason', async () => {
  const api = new FakeApi();
  api.replays = [replay('r1')];
  const executor = new FakeExecutor(30, 10);
  executor.failure.set('r1', 'destination d is not in the data plane workspace config');
  const a = agent(api, executor);
  await a.step();
  await a.step();
  expect(api.reports).toEqual([
    {
      id: 'r1',
      report: {
        status: 'failed',
        replayed: 0,
        total: 30,
        error: 'destination d is not in the data plane workspace config',
      },
    },
  ]);
});
