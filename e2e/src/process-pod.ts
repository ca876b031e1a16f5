import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit } from '@rudder/devkit';
import { PodConfigError } from './pod-env.ts';
import type { PodProgram, RunningProgram } from './pod-program.ts';
import { apiTime, type ContainerState } from './pod-status.ts';

const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** A run that lasted this long resets the backoff, as a kubelet does after 10 minutes. */
const BACKOFF_RESET_AFTER_MS = 10_000;

/**
 * Runs a pod's program the way a kubelet runs a container with
 * `restartPolicy: Always`: start, probe readiness, and after every exit count
 * a restart and start again after a short, growing backoff. `onChange` is
 * called whenever `state` changes, so the pod's status can be reported.
 */
export class ProcessPod {
  state: ContainerState;
  private current: RunningProgram | undefined;
  private readonly stopping = new AbortController();
  private readonly loop: Promise<void>;
  private readonly program: PodProgram;
  private readonly onChange: () => void;
  private readonly log: (line: string) => void;

  constructor(program: PodProgram, onChange: () => void, log: (line: string) => void) {
    this.program = program;
    this.onChange = onChange;
    this.log = log;
    this.state = {
      running: false,
      ready: false,
      waiting: { reason: 'ContainerCreating', message: '' },
      startedAt: apiTime(),
      restartCount: 0,
      containerId: '',
    };
    this.loop = this.run();
  }

  /** Stops the program (SIGTERM, SIGKILL after `graceMs`) and does not start it again. */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    await this.current?.stop(graceMs);
    await this.loop;
  }

  private update(patch: Partial<ContainerState>): void {
    const next = { ...this.state, ...patch };
    if (!('waiting' in patch) && next.running) delete next.waiting;
    this.state = next;
    this.onChange();
  }

  private async run(): Promise<void> {
    let backoff = BACKOFF_FIRST_MS;
    const stopped = this.stopping.signal;
    while (!stopped.aborted) {
      let run: RunningProgram;
      try {
        run = await this.program.start();
      } catch (err) {
        const reason = err instanceof PodConfigError ? err.reason : 'StartError';
        const message = err instanceof Error ? err.message : String(err);
        if (this.state.waiting?.message !== message) this.log(`cannot start: ${message}`);
        this.update({ running: false, ready: false, waiting: { reason, message } });
        if (!(await this.pause(backoff))) break;
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      this.current = run;
      const startedMs = Date.now();
      this.update({
        running: true,
        ready: false,
        startedAt: apiTime(startedMs),
        containerId: run.containerId,
      });
      if (stopped.aborted) await run.stop(1000);
      void this.probe(run);
      const exit = await run.exited;
      this.current = undefined;
      if (stopped.aborted) break;
      this.log(`exited with ${describeExit(exit)}; restarting`);
      if (Date.now() - startedMs > BACKOFF_RESET_AFTER_MS) backoff = BACKOFF_FIRST_MS;
      this.update({
        running: false,
        ready: false,
        restartCount: this.state.restartCount + 1,
        lastTermination: {
          exitCode: exit.code ?? 137,
          ...(exit.signal ? { signal: exit.signal } : {}),
          startedAt: this.state.startedAt,
          finishedAt: apiTime(),
        },
        waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff} ms restarting the container` },
      });
      if (!(await this.pause(backoff))) break;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  /** Polls readiness while `run` is the current run: quickly until ready, then once a second. */
  private async probe(run: RunningProgram): Promise<void> {
    while (this.current === run && !this.stopping.signal.aborted) {
      const ready = await run.ready().catch(() => false);
      if (this.current !== run) return;
      if (ready !== this.state.ready) this.update({ ready });
      if (!(await this.pause(ready ? 1000 : 100))) return;
    }
  }

  /** Sleeps `ms`; false when stopped meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
      return true;
    } catch {
      return false;
    }
  }
}
