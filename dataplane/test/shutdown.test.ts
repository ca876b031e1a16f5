import { waitFor } from '@rudder/devkit';
import {
  type Attempt,
  checkDelivery,
  exitWithin,
  failedEvents,
  outcomeCounts,
  Scenario,
  startLoad,
  waitForAllAcked,
} from './support/harness.ts';

/**
 * SIGTERM under load: the data plane drains and exits 0; every request it
 * answered 200 has its events delivered (before the exit or after a restart),
 * and requests caught by the shutdown get a 503 or a connection error, never
 * a 200 whose events are lost.
 */

const scenario = new Scenario();
afterEach(() => scenario.dispose());

const isAllowed = (a: Attempt): boolean =>
  a.outcome.kind === 'network' || a.outcome.status === 200 || a.outcome.status === 503;

it('drains on SIGTERM under load: exits 0, and every 200 is delivered while other requests get 503 or a connection error', async () => {
  const started = Date.now();
  const { env, sink, config } = await scenario.setUp('shutdown', {
    // Failures and a few hung requests, so the drain has retries and slow deliveries in flight.
    sink: { failureRate: 0.1, timeoutRate: 0.01 },
    webhook: { delivery: { timeoutMs: 300 } },
    env: { SHUTDOWN_TIMEOUT_MS: '20000' },
  });
  const first = await scenario.spawn(env);

  const load = startLoad({
    url: first.gatewayUrl,
    writeKey: config.writeKey,
    users: 64,
    eventsPerRequest: 2,
    concurrency: 16,
    // Clients keep retrying through the shutdown, so requests keep arriving while the server closes.
    retryDelayMs: 20,
  });
  const s = sink;
  try {
    await waitFor('load to be acknowledged and delivered', () => load.acked.size >= 2_000 && s.count >= 200, {
      timeoutMs: 30_000,
    });
    const inFlightAtSignal = load.inFlight();
    const signalAt = Date.now();
    first.kill('SIGTERM');
    const exit = await exitWithin(first, 25_000);
    const exitedAt = Date.now();
    await load.stop();
    expect(exit).toEqual({ code: 0, signal: null });

    const atExit = checkDelivery(s.events(), load.acked);
    const outcomes = outcomeCounts(load.attempts);
    const caught = load.attempts.filter((a) => a.startedAt <= signalAt && a.endedAt >= signalAt);
    const afterSignal = load.attempts.filter((a) => a.startedAt > signalAt);
    process.stderr.write(
      `[shutdown] SIGTERM with ${inFlightAtSignal} requests in flight and ${load.acked.size} events acknowledged; ` +
        `drained and exited in ${exitedAt - signalAt} ms; in flight at the signal: ${JSON.stringify(outcomeCounts(caught))}; ` +
        `started after it: ${JSON.stringify(outcomeCounts(afterSignal))}; all outcomes ${JSON.stringify(outcomes)}; ` +
        `${atExit.missing.length} acknowledged events not yet delivered at exit\n`,
    );
    // The gateway never answers anything else while it shuts down (no 500, no half-stored request).
    expect(load.attempts.filter((a) => !isAllowed(a)).map((a) => a.outcome)).toEqual([]);
    expect(atExit.orderViolations).toEqual([]);

    // What was acknowledged but not delivered before the exit is in the database: a restart delivers it.
    const second = await scenario.spawn(env);
    const report = await waitForAllAcked(() => s.events(), load.acked, 40_000);
    process.stderr.write(
      `[shutdown] after restart: arrivals ${report.arrivals}, unique ${report.unique} of ${load.acked.size} acknowledged ` +
        `(${load.sent.size} sent), duplicates ${report.duplicates}; ${Date.now() - started} ms\n`,
    );
    expect(report.missing).toEqual([]);
    expect(report.orderViolations).toEqual([]);
    expect(report.unknown).toBe(0);
    expect(await failedEvents(second)).toEqual([]);

    // An idle data plane drains at once.
    second.kill('SIGTERM');
    expect(await exitWithin(second, 15_000)).toEqual({ code: 0, signal: null });
  } finally {
    await load.stop();
  }
}, 90_000);
