import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Probe } from '@kubernetes/client-node';
import { describeExit } from '@rudder/devkit';
import { PodConfigError } from './pod-env.ts';
import type { PodProgram, RunningProgram } from './pod-program.ts';
import { apiTime, type ContainerState } from './pod-status.ts';

const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** A run that lasted this long resets the backoff, as a kubelet does after 10 minutes. */
const BACKOFF_RESET_AFTER_MS = 10_000;
/** How often a container that is not ready yet is probed: far more often than a kubelet, so tests start fast. */
const UNREADY_POLL_MS = 100;

/** When a ready container is probed, and how many failed probes in a row make it unready. */
export interface ReadinessTiming {
  periodMs: number;
  failureThreshold: number;
}

/** The timing of a container's readinessProbe, with Kubernetes' defaults (every 10 s, unready after 3 failures). */
export function readinessTiming(probe: V1Probe | undefined): ReadinessTiming {
  return {
    periodMs: (probe?.periodSeconds ?? 10) * 1000,
    failureThreshold: probe?.failureThreshold ?? 3,
  };
}

/**
 * Runs a pod's program the way a kubelet runs a container with
 * `restartPolicy: Always`: start, probe readiness, and after every exit count
 * a restart and start again after a short, growing backoff. `onChange` is
 * called whenever `state` changes, so the pod's status can be reported.
 *
 * A ready container is probed once per `readiness.periodMs` and reported
 * unready only after `failureThreshold` failed probes in a row, as a kubelet
 * does: a process that stalls (SIGSTOP) stays Ready, and in its Services,
 * for that long.
 */
export class ProcessPod {
  state: ContainerState;
  private current: RunningProgram | undefined;
  private readonly stopping = new AbortController();
  private readonly loop: Promise<void>;
  private readonly program: PodProgram;
  private readonly onChange: () => void;
  private readonly log: (line: string) => void;
  private readonly readiness: ReadinessTiming;

  constructor(
    program: PodProgram,
    onChange: () => void,
    log: (line: string) => void,
    readiness: ReadinessTiming = readinessTiming(undefined),
  ) {
    this.program = program;
    this.onChange = onChange;
    this.log = log;
    this.readiness = readiness;
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

  /**
   * Sends `signal` to the running process, as `kill` on the node would
   * (SIGSTOP, SIGCONT, SIGKILL...). An exit it causes is a container exit
   * like any other: counted, reported, restarted. Throws when no process runs.
   */
  signal(signal: NodeJS.Signals): void {
    const pid = this.current && pidOf(this.current.containerId);
    if (pid === undefined) throw new Error(`no running process to send ${signal} to`);
    process.kill(pid, signal);
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

  /** Probes readiness while `run` is the current run: quickly until ready, then once per period. */
  private async probe(run: RunningProgram): Promise<void> {
    let failures = 0;
    while (this.current === run && !this.stopping.signal.aborted) {
      const startedMs = Date.now();
      const passed = await run.ready().catch(() => false);
      if (this.current !== run) return;
      failures = passed ? 0 : failures + 1;
      const ready = passed || (this.state.ready && failures < this.readiness.failureThreshold);
      if (ready !== this.state.ready) this.update({ ready });
      const wait = ready ? this.readiness.periodMs - (Date.now() - startedMs) : UNREADY_POLL_MS;
      if (!(await this.pause(Math.max(0, wait)))) return;
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

/** The pid in a `process://<pid>` container ID (see RunningProgram), or undefined for anything else. */
function pidOf(containerId: string): number | undefined {
  const match = /^process:\/\/(\d+)$/.exec(containerId);
  const pid = match ? Number(match[1]) : 0;
  // 0 would signal this process's whole group.
  return pid > 0 ? pid : undefined;
}
