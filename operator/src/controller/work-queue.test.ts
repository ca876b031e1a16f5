import { WorkQueue } from './work-queue.ts';

const queue = () => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 80 });

describe('WorkQueue', () => {
  it('hands out a key added many times while waiting once', async () => {
    const q = queue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.depth).toBe(0);
  });

  it('never hands the same key to two workers: an add during processing requeues it after done', async () => {
    const q = queue();
    q.add('a');
    const first = await q.get();
    q.add('a');
    expect(q.depth).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await new Promise((r) => setImmediate(r));
    expect(second).toBeUndefined();
    q.done(first!);
    await new Promise((r) => setImmediate(r));
    expect(second).toBe('a');
  });

  it('backs off exponentially per key up to the cap and forgets after success', () => {
    const q = queue();
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([10, 20, 40, 80, 80]);
    expect(q.addRateLimited('b')).toBe(10);
    q.forget('a');
    expect(q.retries('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(10);
    q.shutDown();
  });

  it('delivers a rate-limited key after its delay', async () => {
    const q = queue();
    q.addRateLimited('a');
    const started = Date.now();
    expect(await q.get()).toBe('a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(8);
  });

  it('resolves waiting workers with undefined on shutdown', async () => {
    const q = queue();
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
  });
});
