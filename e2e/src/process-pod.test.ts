import { spawn } from 'node:child_process';
import { waitFor, type ChildExit } from '@rudder/devkit';
import type { PodProgram } from './pod-program.ts';
import { ProcessPod, readinessTiming } from './process-pod.ts';

/** What a readiness check answers, and what it saw: how often it ran, the pod's readiness before each run. */
interface Probe {
  passes: boolean;
  checks: number;
  readyBefore: boolean[];
  pod?: ProcessPod;
}

const probe = (): Probe => ({ passes: true, checks: 0, readyBefore: [] });

/** A program that idles until killed, ready while `probe.passes`. */
function idleProgram(probe: Probe): PodProgram {
  return {
    container: 'main',
    ports: new Map(),
    start: async () => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      const exited = new Promise<ChildExit>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      return {
        containerId: `process://${child.pid}`,
        exited,
        ready: async () => {
          probe.checks++;
          probe.readyBefore.push(probe.pod?.state.ready ?? false);
          return probe.passes;
        },
        stop: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      };
    },
  };
}

const TIMING = { periodMs: 20, failureThreshold: 3 };
let pod: ProcessPod | undefined;
afterEach(async () => {
  await pod?.stop(1000);
  pod = undefined;
});

test('readinessTiming takes the probe period and threshold, with the Kubernetes defaults', () => {
  expect(readinessTiming({ periodSeconds: 5, failureThreshold: 2 })).toEqual({
    periodMs: 5000,
    failureThreshold: 2,
  });
  expect(readinessTiming(undefined)).toEqual({ periodMs: 10_000, failureThreshold: 3 });
});

test('a ready container turns unready only after failureThreshold failed probes in a row', async () => {
  const check = probe();
  const p =
    (pod =
    check.pod =
      new ProcessPod(
        idleProgram(check),
        () => {},
        () => {},
        TIMING,
      ));
  await waitFor('ready', () => p.state.ready);
  check.passes = false;
  const failing = check.checks;
  await waitFor('unready', () => !p.state.ready);
  // Ready when each of the three failing probes started, unready from the third on.
  const before = check.readyBefore.slice(failing);
  expect(before.slice(0, 3)).toEqual([true, true, true]);
  expect(before.slice(3)).not.toContain(true);
});

test('a stopped process still runs; SIGKILL restarts it with exit code 137', async () => {
  const check = probe();
  const p = (pod = new ProcessPod(
    idleProgram(check),
    () => {},
    () => {},
    TIMING,
  ));
  await waitFor('running', () => p.state.running);
  const first = p.state.containerId;
  p.signal('SIGSTOP');
  const checks = check.checks;
  await waitFor('more probes', () => check.checks >= checks + 3);
  expect(p.state).toMatchObject({ running: true, restartCount: 0, containerId: first });
  p.signal('SIGKILL');
  await waitFor('the restart', () => p.state.running && p.state.restartCount === 1);
  expect(p.state.containerId).not.toBe(first);
  expect(p.state.lastTermination).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
});

test('signal throws when no process runs', async () => {
  const p = (pod = new ProcessPod(
    idleProgram(probe()),
    () => {},
    () => {},
  ));
  await p.stop(1000);
  expect(() => p.signal('SIGKILL')).toThrow('no running process');
});
