import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import {
  createTestSchema,
  freePort,
  startSink,
  waitFor,
  type SequencedEvent,
  type Sink,
  type SinkOptions,
} from '@rudder/devkit';

/**
 * Fault-test harness: the data plane as a child process (the program
 * `dataplane/src/main.ts`, run by the Node that runs Jest), a load generator
 * that sends numbered per-user sequences the way SDKs do and remembers what
 * was acknowledged, and a checker of what reached the sink.
 */

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/** Most lines of child output kept for a failure message. */
const LOG_LINES = 400;

// ---------------------------------------------------------------------------
// Workspace config

export interface WebhookSetup {
  /** Where the webhook delivers (the sink's URL). */
  url: string;
  batching?: boolean;
  maxBatchSize?: number;
  /** The destination's `delivery` overrides (timeoutMs, concurrency...). */
  delivery?: Record<string, unknown>;
}

export interface TestConfig {
  /** Directory holding the config file; `dispose` removes it. */
  dir: string;
  path: string;
  writeKey: string;
  sourceId: string;
  destinationId: string;
  dispose(): Promise<void>;
}

/** Writes a one-source, one-webhook workspace config to a temporary file. */
export async function writeWebhookConfig(webhook: WebhookSetup): Promise<TestConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'rudder-fault-'));
  const path = join(dir, 'workspace.json');
  const writeKey = `wk-fault-${Math.random().toString(36).slice(2, 10)}`;
  const config = {
    tenantId: 'fault-test',
    version: '1',
    workspaces: [
      {
        id: 'ws',
        sources: [{ id: 'src', writeKey }],
        destinations: [
          {
            id: 'hook',
            type: 'webhook',
            config: {
              url: `${webhook.url}/hook`,
              ...(webhook.batching === undefined ? {} : { batching: webhook.batching }),
              ...(webhook.maxBatchSize === undefined ? {} : { maxBatchSize: webhook.maxBatchSize }),
            },
            delivery: webhook.delivery ?? {},
          },
        ],
        connections: [{ sourceId: 'src', destinationId: 'hook' }],
      },
    ],
  };
  await writeFile(path, JSON.stringify(config));
  return {
    dir,
    path,
    writeKey,
    sourceId: 'src',
    destinationId: 'hook',
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------
// The data plane as a child process

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildDataPlane {
  pid: number;
  gatewayUrl: string;
  adminUrl: string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Sends a signal (SIGTERM to drain, SIGKILL to crash). */
  kill(signal: NodeJS.Signals): void;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output(): string;
}

/** Data plane env shared by every run of one test (same schema, config and ports across restarts). */
export interface DataPlaneEnv {
  DATABASE_URL: string;
  DATABASE_SCHEMA: string;
  CONFIG_FILE: string;
  PORT: string;
  ADMIN_PORT: string;
  [name: string]: string;
}

/** Env for a data plane on free local ports; `extra` overrides (router backoff, log level...). */
export async function dataPlaneEnv(
  db: { url: string; schema: string },
  configFile: string,
  extra: Record<string, string> = {},
): Promise<DataPlaneEnv> {
  return {
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    CONFIG_FILE: configFile,
    PORT: String(await freePort()),
    ADMIN_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    ADMIN_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '10',
    ...extra,
  };
}

/**
 * Starts `node dataplane/src/main.ts` with `env` and waits until `GET /ready`
 * (or the admin API's `GET /health`, for a worker) answers 200. Fails early, with the process's output, if it exits first.
 */
export async function spawnDataPlane(
  env: DataPlaneEnv,
  {
    readyTimeoutMs = 30_000,
    probe = 'gateway',
  }: {
    readyTimeoutMs?: number;
    /** What answers when the process is up: the gateway's `/ready`, or the admin API's `/health` (a worker has no gateway). */
    probe?: 'gateway' | 'admin';
  } = {},
): Promise<ChildDataPlane> {
  const childEnv: Record<string, string> = {};
  // Only what Node itself needs from the parent: Jest's own settings must not leak into the program.
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) childEnv[name] = value;
  }
  Object.assign(childEnv, env);
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      lines.push(line);
      if (lines.length > LOG_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const output = (): string => lines.join('\n');
  const gatewayUrl = `http://127.0.0.1:${env.PORT}`;
  const adminUrl = `http://127.0.0.1:${env.ADMIN_PORT}`;
  const handle: ChildDataPlane = {
    pid: child.pid ?? -1,
    gatewayUrl,
    adminUrl,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    output,
  };

  let exitedEarly: Exit | undefined;
  void exited.then((e) => (exitedEarly = e));
  try {
    await waitFor(
      'the data plane to be ready',
      async () => {
        if (exitedEarly) {
          throw new Error(`exited early (${JSON.stringify(exitedEarly)})`);
        }
        const probeUrl = probe === 'gateway' ? `${gatewayUrl}/ready` : `${adminUrl}/health`;
        const res = await request(probeUrl, { headersTimeout: 2_000, bodyTimeout: 2_000 });
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    handle.kill('SIGKILL');
    await exited;
    throw new Error(`${(err as Error).message}\n--- data plane output ---\n${output()}`, { cause: err });
  }
  return handle;
}

/** Resolves with the child's exit, or rejects (with its output) when it has not exited within `timeoutMs`. */
export async function exitWithin(dp: ChildDataPlane, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`data plane did not exit within ${timeoutMs} ms\n--- output ---\n${dp.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([dp.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the child if it still runs and waits for it: tests never leave processes behind. */
export async function ensureStopped(dp: ChildDataPlane | undefined): Promise<void> {
  if (!dp) return;
  dp.kill('SIGKILL');
  await dp.exited;
}

/** Reads the failed-events store through the admin API. */
export async function failedEvents(dp: ChildDataPlane): Promise<unknown[]> {
  const res = await request(`${dp.adminUrl}/admin/v1/failed-events?limit=100`);
  const body = (await res.body.json()) as { events?: unknown[] };
  if (res.statusCode !== 200)
    throw new Error(`failed-events answered ${res.statusCode}: ${JSON.stringify(body)}`);
  return body.events ?? [];
}

// ---------------------------------------------------------------------------
// Load generator

/** One event the generator sent, by messageId. */
export type SentEvent = SequencedEvent;

/** How one request attempt ended. */
export type Outcome = { kind: 'status'; status: number } | { kind: 'network'; code: string };

export interface Attempt {
  user: string;
  messageIds: string[];
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
}

export interface LoadOptions {
  /** The gateway's base URL; a function when the target can change between requests. */
  url: string | (() => string);
  writeKey: string;
  /** Number of users; user ids are `${prefix}${i}`. */
  users: number;
  /** Events each user sends, seq 0..n-1; omit for sustained load until `stop()`. */
  eventsPerUser?: number;
  /** Consecutive events of one user per request. */
  eventsPerRequest?: number;
  /** Requests in flight at once (each for a different user). */
  concurrency: number;
  /** Retry a failed request (same messageIds, like an SDK) after this many ms; without it a failure is final for that user. */
  retryDelayMs?: number;
  /** Per-request client timeout. */
  requestTimeoutMs?: number;
  /** Prefix of user ids and messageIds, unique per run. */
  prefix?: string;
}

export interface Load {
  /** messageId -> event, for events whose request was answered 200. */
  readonly acked: Map<string, SentEvent>;
  /** messageId -> event, for every event sent at least once. */
  readonly sent: Map<string, SentEvent>;
  /** Every request attempt, in order of completion. */
  readonly attempts: Attempt[];
  /** Requests whose answer is still outstanding. */
  inFlight(): number;
  /** Stops sending new requests; resolves when the ones in flight have ended. */
  stop(): Promise<void>;
  /** Resolves when every user is done (bounded load) or after `stop()`. */
  done: Promise<void>;
}

/**
 * Sends `/v1/batch` requests: each user sends its numbered sequence (property
 * `seq`), one request at a time, the next only after the previous one was
 * acknowledged, as SDKs do; `concurrency` users are served at once, round robin.
 */
export function startLoad(options: LoadOptions): Load {
  const prefix = options.prefix ?? `u${Math.random().toString(36).slice(2, 7)}-`;
  const perRequest = options.eventsPerRequest ?? 1;
  const limit = options.eventsPerUser ?? Number.POSITIVE_INFINITY;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const url =
    typeof options.url === 'string'
      ? (
          (u: string) => () =>
            u
        )(options.url)
      : options.url;
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 2_000 });
  const acked = new Map<string, SentEvent>();
  const sent = new Map<string, SentEvent>();
  const attempts: Attempt[] = [];
  let stopped = false;
  let inFlight = 0;

  const next = Array.from({ length: options.users }, () => 0);
  const users = Array.from({ length: options.users }, (_, i) => `${prefix}${i}`);
  const messageId = (user: string, seq: number): string => `${user}-${seq}`;

  const send = async (user: string, seqs: number[]): Promise<Outcome> => {
    const now = new Date().toISOString();
    const batch = seqs.map((seq) => ({
      type: 'track',
      event: 'Sequenced',
      userId: user,
      messageId: messageId(user, seq),
      properties: { seq },
      timestamp: now,
    }));
    inFlight++;
    const started = Date.now();
    let outcome: Outcome;
    try {
      const res = await request(`${url()}/v1/batch`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ batch, sentAt: now }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      outcome = { kind: 'status', status: res.statusCode };
    } catch (err) {
      outcome = { kind: 'network', code: errorCode(err) };
    } finally {
      inFlight--;
    }
    attempts.push({
      user,
      messageIds: batch.map((e) => e.messageId),
      startedAt: started,
      endedAt: Date.now(),
      outcome,
    });
    return outcome;
  };

  // One lane per concurrency slot; a lane serves its users round robin, one request at a time.
  const lane = async (slot: number): Promise<void> => {
    const mine = users.map((_, i) => i).filter((i) => i % options.concurrency === slot);
    let turn = 0;
    while (!stopped && mine.length > 0) {
      const i = mine[turn % mine.length]!;
      const from = next[i]!;
      if (from >= limit) {
        mine.splice(turn % mine.length, 1);
        continue;
      }
      const user = users[i]!;
      const seqs = Array.from({ length: Math.min(perRequest, limit - from) }, (_, k) => from + k);
      for (const seq of seqs) sent.set(messageId(user, seq), { user, seq });
      const outcome = await send(user, seqs);
      if (outcome.kind === 'status' && outcome.status === 200) {
        for (const seq of seqs) acked.set(messageId(user, seq), { user, seq });
        next[i] = from + seqs.length;
        turn++;
        continue;
      }
      if (options.retryDelayMs === undefined) {
        // No retries: this user is done; later seqs are never sent, so its sequence stays a prefix.
        mine.splice(turn % mine.length, 1);
        continue;
      }
      // The same user again with the same messageIds: an SDK never skips ahead of an unacknowledged event.
      if (!stopped) await new Promise((r) => setTimeout(r, options.retryDelayMs));
    }
  };

  const done = Promise.all(Array.from({ length: options.concurrency }, (_, s) => lane(s))).then(() =>
    agent.close(),
  );
  return {
    acked,
    sent,
    attempts,
    inFlight: () => inFlight,
    stop: async () => {
      stopped = true;
      await done;
    },
    done,
  };
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (typeof e.cause?.code === 'string') return e.cause.code;
  if (typeof e.code === 'string') return e.code;
  if (typeof e.name === 'string') return e.name;
  return 'UNKNOWN';
}

/** Counts attempt outcomes as `200`, `503`, `ECONNRESET`..., for reports and assertions. */
export function outcomeCounts(attempts: Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of attempts) {
    const key = a.outcome.kind === 'status' ? String(a.outcome.status) : a.outcome.code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------
// Checker

export interface DeliveryReport {
  /** Events the sink received, duplicates included. */
  arrivals: number;
  /** Distinct messageIds among them. */
  unique: number;
  /** arrivals - unique. */
  duplicates: number;
  /** Acknowledged messageIds the sink never received. */
  missing: string[];
  /**
   * Per-user order violations: a user's first arrivals, in arrival order, must
   * have strictly increasing `seq` (a redelivered duplicate does not count,
   * but a first arrival after a later seq's first arrival does).
   */
  orderViolations: string[];
  /** Events at the sink that the generator never sent (should be none). */
  unknown: number;
}

/** Compares the sink's events (in arrival order) with what the gateway acknowledged. */
export function checkDelivery(events: unknown[], acked: Map<string, SentEvent>): DeliveryReport {
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  const orderViolations: string[] = [];
  let unknown = 0;
  for (const raw of events) {
    const e = raw as { messageId?: unknown; userId?: unknown; properties?: { seq?: unknown } };
    const id = typeof e.messageId === 'string' ? e.messageId : undefined;
    const user = typeof e.userId === 'string' ? e.userId : undefined;
    const seq = typeof e.properties?.seq === 'number' ? e.properties.seq : undefined;
    if (id === undefined || user === undefined || seq === undefined) {
      unknown++;
      continue;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    const last = lastSeq.get(user);
    if (last !== undefined && seq <= last) {
      if (orderViolations.length < 20)
        orderViolations.push(`${user}: seq ${seq} first arrived after seq ${last}`);
      else if (orderViolations.length === 20) orderViolations.push('...');
    }
    lastSeq.set(user, Math.max(last ?? -1, seq));
  }
  const missing: string[] = [];
  for (const id of acked.keys()) if (!seen.has(id)) missing.push(id);
  return {
    arrivals: events.length,
    unique: seen.size,
    duplicates: events.length - seen.size,
    missing,
    orderViolations,
    unknown,
  };
}

/** Waits until every acknowledged event reached the sink; the error lists what is missing. */
export async function waitForAllAcked(
  events: () => unknown[],
  acked: Map<string, SentEvent>,
  timeoutMs: number,
): Promise<DeliveryReport> {
  let report: DeliveryReport | undefined;
  try {
    await waitFor(
      'every acknowledged event at the sink',
      () => {
        report = checkDelivery(events(), acked);
        return report.missing.length === 0;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    const missing = report?.missing ?? [];
    throw new Error(
      `${(err as Error).message}: ${missing.length} of ${acked.size} acknowledged events missing, e.g. ${missing.slice(0, 10).join(', ')}`,
      { cause: err },
    );
  }
  return report!;
}

// ---------------------------------------------------------------------------
// Scenario: what one fault test starts, and its teardown

/** Router settings for fault tests: quick retries that never give up within a test's lifetime. */
export const FAST_RETRIES_NEVER_ABORT: Record<string, string> = {
  PARTITIONS: '16',
  ROUTER_BACKOFF_BASE_MS: '20',
  ROUTER_BACKOFF_MAX_MS: '200',
  ROUTER_MIN_ATTEMPTS: '1000',
  ROUTER_RETRY_WINDOW_SECONDS: '3600',
};

/**
 * The resources of one fault scenario: a schema, a sink, a workspace config
 * with one webhook to the sink, and the data-plane processes started on them.
 * `dispose` (from afterEach) stops and removes them all, the processes first.
 */
export class Scenario {
  private schema: Awaited<ReturnType<typeof createTestSchema>> | undefined;
  private config: TestConfig | undefined;
  private sink: Sink | undefined;
  private readonly dataPlanes: ChildDataPlane[] = [];

  async setUp(
    name: string,
    options: { sink: SinkOptions; webhook?: Omit<WebhookSetup, 'url'>; env?: Record<string, string> },
  ): Promise<{ env: DataPlaneEnv; sink: Sink; config: TestConfig }> {
    this.schema = await createTestSchema(name);
    const sink = (this.sink = await startSink(options.sink));
    const config = (this.config = await writeWebhookConfig({ url: sink.url, ...options.webhook }));
    const env = await dataPlaneEnv(this.schema, config.path, { ...FAST_RETRIES_NEVER_ABORT, ...options.env });
    return { env, sink, config };
  }

  /** Starts a data plane that `dispose` will stop. */
  async spawn(env: DataPlaneEnv): Promise<ChildDataPlane> {
    const dp = await spawnDataPlane(env);
    this.dataPlanes.push(dp);
    return dp;
  }

  async dispose(): Promise<void> {
    for (const dp of this.dataPlanes.splice(0)) await ensureStopped(dp);
    await this.sink?.close();
    await this.config?.dispose();
    await this.schema?.drop();
    this.sink = undefined;
    this.config = undefined;
    this.schema = undefined;
  }
}
