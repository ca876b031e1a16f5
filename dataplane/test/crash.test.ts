import { waitFor } from '@rudder/devkit';
import {
  exitWithin,
  failedEvents,
  outcomeCounts,
  Scenario,
  startLoad,
  waitForAllAcked,
} from './support/harness.ts';

/**
 * kill -9 of the data plane in the middle of sustained load and delivery:
 * after a restart on the same database, every event the gateway acknowledged
 * reaches the destination, each user still in order. Requests cut off by the
 * kill were not acknowledged and are not required (their clients retry them).
 */

const scenario = new Scenario();
afterEach(() => scenario.dispose());

it('loses no acknowledged event when the data plane is killed with SIGKILL mid-load and restarted', async () => {
  const started = Date.now();
  const { env, sink, config } = await scenario.setUp('crash', {
    // Some deliveries fail, so retry state (waiting jobs, held users) exists when the process dies.
    sink: { failureRate: 0.1 },
    webhook: { delivery: { timeoutMs: 1_000 } },
    // Small datasets: they rotate and are dropped during the run, the kill included.
    env: { JOBSDB_DATASET_MAX_ROWS: '1000', JOBSDB_MAINTENANCE_INTERVAL_MS: '200' },
  });
  const first = await scenario.spawn(env);

  const load = startLoad({
    url: first.gatewayUrl,
    writeKey: config.writeKey,
    users: 64,
    eventsPerRequest: 2,
    concurrency: 8,
    retryDelayMs: 50,
  });
  const s = sink;
  try {
    // A few seconds of load, with deliveries under way when the kill lands.
    await waitFor('load to be acknowledged and delivered', () => load.acked.size >= 3_000 && s.count >= 500, {
      timeoutMs: 30_000,
    });
    const ackedAtKill = load.acked.size;
    const deliveredAtKill = s.count;
    first.kill('SIGKILL');
    expect(await exitWithin(first, 10_000)).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await scenario.spawn(env);
    await waitFor(
      'load to be acknowledged by the restarted data plane',
      () => load.acked.size >= ackedAtKill + 2_000,
      {
        timeoutMs: 30_000,
      },
    );
    await load.stop();

    const report = await waitForAllAcked(() => s.events(), load.acked, 40_000);
    const outcomes = outcomeCounts(load.attempts);
    process.stderr.write(
      `[crash] killed at ${ackedAtKill} acknowledged / ${deliveredAtKill} delivered; ${load.acked.size} acknowledged in all ` +
        `(${load.sent.size} sent); request outcomes ${JSON.stringify(outcomes)}; arrivals ${report.arrivals}, ` +
        `unique ${report.unique}, duplicates ${report.duplicates}; ${Date.now() - started} ms\n`,
    );

    expect(report.missing).toEqual([]);
    expect(report.orderViolations).toEqual([]);
    expect(report.unknown).toBe(0);
    // Only acknowledged or retried-and-unacknowledged events can arrive: nothing invented.
    expect(report.unique).toBeLessThanOrEqual(load.sent.size);
    expect(await failedEvents(second)).toEqual([]);
  } finally {
    await load.stop();
  }
}, 90_000);
