import type { Logger } from '@rudder/common';
import { WakeableSleep } from './wakeable-sleep.ts';

export interface PollingLoopOptions {
  /** One unit of work; resolves to how long to idle before the next (0 = go again at once). */
  step: () => Promise<number>;
  logger: Logger;
  /** Logged when a step fails, e.g. 'processor batch failed; retrying'. */
  failureMessage: string;
}

/**
 * A background worker loop: runs `step` until stopped, idles as `step` asks
 * (cut short by `wake` when a producer has new work), and backs off
 * exponentially while steps fail, logging each failure.
 */
export class PollingLoop {
  private readonly o: PollingLoopOptions;
  private readonly sleeper = new WakeableSleep();
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(options: PollingLoopOptions) {
    this.o = options;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** New work exists: end the current idle wait now. */
  wake(): void {
    this.sleeper.wake();
  }

  /** Lets the step in flight finish, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const idleMs = await this.o.step();
        failures = 0;
        if (idleMs > 0 && !this.stopping) await this.sleeper.sleep(idleMs);
      } catch (err) {
        failures++;
        this.o.logger.error({ err }, this.o.failureMessage);
        if (!this.stopping) await this.sleeper.sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }
}
