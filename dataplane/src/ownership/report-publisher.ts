import type { Logger } from '@rudder/common';
import type { WorkerReport } from '@rudder/common/partition-map';
import type { ReportSink } from './map-source.ts';

/**
 * Writes reports one at a time, newest wins: a report published while
 * another is being written replaces any still waiting, so a slow sink (the
 * Kubernetes API) never holds up the lease loop and never gets a backlog.
 */
export class ReportPublisher {
  private readonly sink: ReportSink;
  private readonly logger: Logger;
  private pending: WorkerReport | undefined;
  private writing: Promise<void> | undefined;
  private failing = false;

  constructor(sink: ReportSink, logger: Logger) {
    this.sink = sink;
    this.logger = logger;
  }

  publish(report: WorkerReport): void {
    this.pending = report;
    this.writing ??= this.drain();
  }

  /** Resolves once every report published so far was written (or failed). */
  async flushed(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const report = this.pending;
      this.pending = undefined;
      try {
        await this.sink.write(report);
        if (this.failing) this.logger.info('partition report written again');
        this.failing = false;
      } catch (err) {
        // Logged once per outage: the heartbeat retries every few seconds.
        if (!this.failing)
          this.logger.warn({ error: String(err) }, 'cannot write the partition report; retrying');
        this.failing = true;
      }
    }
    this.writing = undefined;
  }
}
