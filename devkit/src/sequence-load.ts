import { Agent, request } from 'undici';

/** One event of a user's numbered sequence. */
export interface SequencedEvent {
  user: string;
  seq: number;
}

/**
 * A load generator with a steady offered rate: many users, each sending its
 * numbered sequence (property `seq`) through `/v1/batch` the way an SDK does
 * (one request at a time per user, the next only after the previous one was
 * acknowledged, a failed request retried with the same messageIds). Requests
 * go to the gateways round robin, paced to `eventsPerSecond`.
 */
export interface PacedLoadOptions {
  /** Gateway base URLs, requests spread over them; or a function answering the URL for each request. */
  urls: readonly string[] | (() => string);
  writeKey: string;
  /** Number of users; user ids are `${prefix}${i}`. */
  users: number;
  /** Offered load. Only reached while enough users are idle and `maxInFlight` allows. */
  eventsPerSecond: number;
  /** Consecutive events of one user per request. */
  eventsPerRequest: number;
  /** Most requests outstanding at once. */
  maxInFlight: number;
  /** A user whose request failed sends it again after this long. */
  retryDelayMs?: number;
  requestTimeoutMs?: number;
  /** Prefix of user ids and messageIds, unique per run. */
  prefix?: string;
}

export interface PacedLoad {
  /** messageId -> event, for events whose request was answered 200. */
  readonly acked: Map<string, SequencedEvent>;
  /** messageId -> event, for every event sent at least once. */
  readonly sent: Map<string, SequencedEvent>;
  /**
   * messageIds sent again after an attempt that got no 200: the gateway may
   * have stored the first attempt anyway (an answer lost to a timeout), so
   * each can legitimately arrive twice.
   */
  readonly resent: ReadonlySet<string>;
  /** Events in those repeated attempts (an event retried twice counts twice). */
  readonly resentEvents: number;
  /** Attempt outcomes: `200`, `503`, `ECONNRESET`... */
  outcomes(): Record<string, number>;
  /** Acknowledged events per whole second since the start (index = second). */
  ackedPerSecond(): number[];
  /** Requests whose answer is still outstanding. */
  inFlight(): number;
  /** Stops sending; resolves when the requests in flight have ended. Safe to call again. */
  stop(): Promise<void>;
}

const TICK_MS = 5;

export function startPacedLoad(options: PacedLoadOptions): PacedLoad {
  const { urls } = options;
  const prefix = options.prefix ?? `u${Math.random().toString(36).slice(2, 7)}-`;
  const retryDelayMs = options.retryDelayMs ?? 50;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const agent = new Agent({ connections: options.maxInFlight, keepAliveTimeout: 4_000 });
  const acked = new Map<string, SequencedEvent>();
  const sent = new Map<string, SequencedEvent>();
  const outcomes: Record<string, number> = {};
  const perSecond: number[] = [];
  const users = Array.from({ length: options.users }, (_, i) => `${prefix}${i}`);
  const next = new Array<number>(options.users).fill(0);
  /** Users whose previous request was acknowledged (or whose retry delay passed), oldest first. */
  const idle: number[] = users.map((_, i) => i);
  let idleHead = 0;
  const pending = new Set<Promise<void>>();
  let inFlight = 0;
  const resent = new Set<string>();
  let resentEvents = 0;
  let stopped = false;
  let stopping: Promise<void> | undefined;
  let turn = 0;
  const startedAt = performance.now();
  let issuedEvents = 0;

  const send = async (i: number): Promise<void> => {
    const user = users[i]!;
    const from = next[i]!;
    const now = new Date().toISOString();
    const batch = Array.from({ length: options.eventsPerRequest }, (_, k) => ({
      type: 'track',
      event: 'Sequenced',
      userId: user,
      messageId: `${user}-${from + k}`,
      properties: { seq: from + k },
      timestamp: now,
    }));
    for (const e of batch) sent.set(e.messageId, { user, seq: e.properties.seq });
    const url = typeof urls === 'function' ? urls() : urls[turn++ % urls.length]!;
    let outcome: string;
    try {
      const res = await request(`${url}/v1/batch`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ batch, sentAt: now }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      outcome = String(res.statusCode);
    } catch (err) {
      outcome = errorCode(err);
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (outcome === '200') {
      for (const e of batch) acked.set(e.messageId, { user, seq: e.properties.seq });
      const second = Math.floor((performance.now() - startedAt) / 1000);
      while (perSecond.length <= second) perSecond.push(0);
      perSecond[second]! += batch.length;
      next[i] = from + batch.length;
      idle.push(i);
      return;
    }
    // The same events again later, like an SDK: a user never skips an unacknowledged event.
    for (const e of batch) resent.add(e.messageId);
    resentEvents += batch.length;
    await new Promise((r) => setTimeout(r, retryDelayMs));
    idle.push(i);
  };

  const tick = (): void => {
    if (stopped) return;
    const due = ((performance.now() - startedAt) / 1000) * options.eventsPerSecond;
    // At most two requests of debt are carried over: a stall does not turn into a burst afterwards.
    if (due - issuedEvents > options.eventsPerRequest * 2) issuedEvents = due - options.eventsPerRequest * 2;
    while (issuedEvents + options.eventsPerRequest <= due) {
      if (inFlight >= options.maxInFlight || idleHead >= idle.length) break;
      const i = idle[idleHead++]!;
      if (idleHead > 4096) {
        idle.splice(0, idleHead);
        idleHead = 0;
      }
      issuedEvents += options.eventsPerRequest;
      inFlight++;
      const p = send(i).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
  };
  const timer = setInterval(tick, TICK_MS);

  return {
    acked,
    sent,
    resent,
    get resentEvents() {
      return resentEvents;
    },
    outcomes: () => ({ ...outcomes }),
    ackedPerSecond: () => perSecond.slice(),
    inFlight: () => inFlight,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        while (pending.size > 0) await Promise.allSettled([...pending]);
        await agent.close();
      })()),
  };
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (typeof e.cause?.code === 'string') return e.cause.code;
  if (typeof e.code === 'string') return e.code;
  if (typeof e.name === 'string') return e.name;
  return 'UNKNOWN';
}
