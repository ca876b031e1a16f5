import type { Logger } from '@rudder/common';
import { nextAttemptDelayMs, type BackoffOptions } from '../router/retry-policy.ts';
import { PollingLoop } from '../util/polling-loop.ts';
import { reportFor, type ChunkOutcome } from './replay-executor.ts';
import type { ReplayApi } from './replay-api.ts';
import type { Replay, ReplayReport } from './types.ts';

export interface ReplayAgentOptions {
  api: ReplayApi;
  executor: { runChunk(replay: Replay): Promise<ChunkOutcome> };
  /** How often to ask the control plane for replays (`REPLAY_POLL_SECONDS`). */
  pollMs: number;
  logger: Logger;
  /** Retry delays for progress reports while the control plane is down. */
  reportBackoff?: BackoffOptions;
  now?: () => number;
  random?: () => number;
}

/**
 * Runs the replays the control plane lists, one chunk per replay per round
 * so that a long replay does not hold up the others, and reports progress
 * after every chunk. The progress itself lives in the tenant database
 * (replay-progress.ts): while the control plane is down the agent keeps
 * running the replays it knows and keeps the latest report of each to send
 * once it is back. A 404 or 409 answer to a report means the replay was
 * cancelled or deleted, and the agent stops it.
 */
export class ReplayAgent {
  private readonly o: Required<ReplayAgentOptions>;
  private readonly loop: PollingLoop;
  private readonly abort = new AbortController();
  /** Replays of the last successful listing, minus the ones found gone. */
  private known = new Map<string, Replay>();
  private readonly gone = new Set<string>();
  /** The latest report of each replay not yet accepted by the control plane. */
  private readonly unreported = new Map<string, ReplayReport>();
  /** The last report accepted for each replay, so an unchanged state is not sent again. */
  private readonly accepted = new Map<string, string>();
  private nextListAt = 0;
  private listFailures = 0;
  private reportFailures = 0;
  private nextReportAt = 0;

  constructor(options: ReplayAgentOptions) {
    this.o = {
      reportBackoff: { baseMs: 1_000, maxMs: 30_000 },
      now: Date.now,
      random: Math.random,
      ...options,
    };
    this.loop = new PollingLoop({
      step: () => this.step(),
      logger: options.logger,
      failureMessage: 'replay round failed; retrying',
    });
  }

  start(): void {
    this.loop.start();
  }

  /** Aborts requests in flight, lets the chunk in flight commit, then stops. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop.stop();
  }

  /** One round: refresh the list when due, send pending reports, run one chunk of each replay. Returns the idle time. */
  async step(): Promise<number> {
    await this.refreshList();
    await this.flushReports();
    let more = false;
    for (const replay of [...this.known.values()]) {
      if (this.abort.signal.aborted) break;
      let outcome: ChunkOutcome;
      try {
        outcome = await this.o.executor.runChunk(replay);
      } catch (err) {
        this.o.logger.error({ err, replay: replay.id }, 'replay chunk failed; retrying next round');
        continue;
      }
      if (outcome.kind === 'progressed' && !outcome.done) more = true;
      const report = reportFor(outcome);
      if (report) this.queueReport(replay.id, report);
      await this.flushReports();
    }
    return more ? 0 : this.o.pollMs;
  }

  private async refreshList(): Promise<void> {
    if (this.o.now() < this.nextListAt) return;
    let listed: Replay[];
    try {
      listed = await this.o.api.list(this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.listFailures++;
      // Backs off like reports do, so an unreachable control plane costs the replays little time per round.
      const delay = nextAttemptDelayMs(this.listFailures, this.o.reportBackoff, undefined, this.o.random);
      this.nextListAt = this.o.now() + Math.max(this.o.pollMs, delay);
      this.o.logger.warn(
        { error: String(err), running: this.known.size, attempt: this.listFailures },
        'cannot list replays; continuing the known ones',
      );
      return;
    }
    this.listFailures = 0;
    this.nextListAt = this.o.now() + this.o.pollMs;
    const ids = new Set(listed.map((r) => r.id));
    for (const id of this.gone) if (!ids.has(id)) this.gone.delete(id);
    for (const id of this.accepted.keys()) if (!ids.has(id)) this.accepted.delete(id);
    const known = new Map<string, Replay>();
    for (const replay of listed) {
      if (this.gone.has(replay.id)) continue;
      if (!this.known.has(replay.id))
        this.o.logger.info(
          { replay: replay.id, source: replay.sourceId, destination: replay.destinationId },
          'replay picked up',
        );
      known.set(replay.id, replay);
    }
    this.known = known;
  }

  private queueReport(id: string, report: ReplayReport): void {
    if (this.accepted.get(id) === JSON.stringify(report)) this.unreported.delete(id);
    else this.unreported.set(id, report);
  }

  /** Sends pending reports unless the control plane failed recently; stops at the first failure. */
  private async flushReports(): Promise<void> {
    if (this.unreported.size === 0 || this.o.now() < this.nextReportAt) return;
    for (const [id, report] of [...this.unreported]) {
      if (this.abort.signal.aborted) return;
      let answer: 'accepted' | 'gone';
      try {
        answer = await this.o.api.report(id, report, this.abort.signal);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.reportFailures++;
        this.nextReportAt =
          this.o.now() +
          nextAttemptDelayMs(this.reportFailures, this.o.reportBackoff, undefined, this.o.random);
        this.o.logger.warn(
          { replay: id, error: String(err), attempt: this.reportFailures },
          'cannot report replay progress; keeping it to send later',
        );
        return;
      }
      this.reportFailures = 0;
      // A newer report may have been queued while this one was in flight.
      if (this.unreported.get(id) === report) this.unreported.delete(id);
      if (answer === 'gone') {
        this.gone.add(id);
        this.known.delete(id);
        this.unreported.delete(id);
        this.o.logger.info({ replay: id }, 'replay was cancelled or deleted; stopped running it');
        continue;
      }
      this.accepted.set(id, JSON.stringify(report));
      if (report.status === 'completed')
        this.o.logger.info({ replay: id, replayed: report.replayed }, 'replay completed');
      else if (report.status === 'failed')
        this.o.logger.warn({ replay: id, error: report.error }, 'replay failed');
    }
  }
}
