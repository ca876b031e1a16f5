import { createTestSchema, startSink, waitFor, type Sink } from '@rudder/devkit';
import {
  checkDelivery,
  dataPlaneEnv,
  ensureStopped,
  exitWithin,
  failedEvents,
  outcomeCounts,
  spawnDataPlane,
  startLoad,
  waitForAllAcked,
  writeWebhookConfig,
  type Attempt,
  type ChildDataPlane,
  type TestConfig,
} from './support/harness.ts';

/**
 * SIGTERM under load: the data plane drains and exits 0; every request it
 * answered 200 has its events delivered (before the exit or after a restart),
 * and requests caught by the shutdown get a 503 or a connection error, never
 * a 200 whose events are lost.
 */

let schema: Awaited<ReturnType<typeof createTestSchema>> | undefined;
let config: TestConfig | undefined;
let sink: Sink | undefined;
const dataPlanes: ChildDataPlane[] = [];

afterEach(async () => {
  for (const dp of dataPlanes.splice(0)) await ensureStopped(dp);
  await sink?.close();
  await config?.dispose();
  await schema?.drop();
  sink = undefined;
  config = undefined;
  schema = undefined;
});

const isAllowed = (a: Attempt): boolean =>
  a.outcome.kind === 'network' || a.outcome.status === 200 || a.outcome.status === 503;

it('drains on SIGTERM under load: exits 0, and every 200 is delivered while other requests get 503 or a connection error', async () => {
  const started = Date.now();
  schema = await createTestSchema('shutdown');
  // Failures and a few hung requests, so the drain has retries and slow deliveries in flight.
  sink = await startSink({ failureRate: 0.1, timeoutRate: 0.01 });
  config = await writeWebhookConfig({ url: sink.url, delivery: { timeoutMs: 300 } });
  const env = await dataPlaneEnv(schema, config.path, {
    PARTITIONS: '16',
    ROUTER_BACKOFF_BASE_MS: '20',
    ROUTER_BACKOFF_MAX_MS: '200',
    ROUTER_MIN_ATTEMPTS: '1000',
    ROUTER_RETRY_WINDOW_SECONDS: '3600',
    SHUTDOWN_TIMEOUT_MS: '20000',
  });
  const first = await spawnDataPlane(env);
  dataPlanes.push(first);

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
    const second = await spawnDataPlane(env);
    dataPlanes.push(second);
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
