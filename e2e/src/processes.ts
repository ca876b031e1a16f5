import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { describeExit, type ChildExit } from '@rudder/devkit';

/** A child process whose stdout and stderr go to a log file. */
export interface LoggedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Settles once the process has ended (or could not be started). */
  exited: Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<ChildExit>;
}

export interface SpawnLoggedOptions {
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts `command args` with its output appended to `logFile`. The process
 * is also SIGKILLed when this Node process exits, so a test run that dies
 * half-way leaves no servers behind.
 */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  options: SpawnLoggedOptions,
): LoggedProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      stdio: ['ignore', fd, fd],
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    });
  } finally {
    closeSync(fd);
  }
  const forget = child.pid !== undefined ? killOnExit(child.pid) : () => {};
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // ENOENT and friends: there is no 'exit' event then.
    child.once('error', () => resolve({ code: child.exitCode ?? 127, signal: null }));
  });
  void exited.then(forget);
  return {
    name,
    child,
    logFile: options.logFile,
    exited,
    stop: (graceMs = 10_000) => terminate(child, exited, graceMs),
  };
}

async function terminate(
  child: ChildProcess,
  exited: Promise<ChildExit>,
  graceMs: number,
): Promise<ChildExit> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The last `lines` lines of a log file ('' when there is none). */
export function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text.split('\n').slice(-lines).join('\n');
}

/** An error saying `what` failed, with the tail of the process's log. */
export function failedToStart(proc: LoggedProcess, what: string, cause?: unknown): Error {
  const exit =
    proc.child.exitCode !== null || proc.child.signalCode !== null
      ? ` (${describeExit({ code: proc.child.exitCode, signal: proc.child.signalCode })})`
      : '';
  const reason = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new Error(
    `${proc.name} ${what}${exit}${reason}\n--- last lines of ${proc.logFile} ---\n${logTail(proc.logFile)}`,
  );
}

const doomed = new Set<number>();
let hooked = false;

/**
 * Registers `pid` to be SIGKILLed if this Node process exits while it runs
 * (a crashed test worker); returns the function that unregisters it.
 */
export function killOnExit(pid: number): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const each of doomed) {
        try {
          process.kill(each, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  doomed.add(pid);
  return () => doomed.delete(pid);
}
