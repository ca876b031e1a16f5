import { Agent, request } from 'undici';

/** One event of a user's numbered sequence. */
export interface SequencedEvent {
  user: string;
  seq: number;
}

export interface SequenceLoadOptions {
  /** The gateway's base URL. */
  url: () => string;
  writeKey: string;
  /** Users `${prefix}0` ... */
  users: number;
  /** Offered load; reached only while enough users are idle. */
  eventsPerSecond: number;
  /** Consecutive events of one user per `/v1/batch` request. */
  eventsPerRequest: number;
  /** Prefix of user ids and messageIds, unique per run. */
  prefix: string;
  /** A failed request is sent again (same events) after this long. */
  retryDelayMs?: number;
  requestTimeoutMs?: number;
}

/** A running load: what it sent and what the gateway acknowledged. */
export interface SequenceLoad {
  /** messageId -> event, for every event sent at least once. */
  readonly sent: ReadonlyMap<string, SequencedEvent>;
  /** messageId -> event, for events of requests answered 200. */
  readonly acked: ReadonlyMap<string, SequencedEvent>;
  /** Events sent again after an attempt without a 200 (the first may have been stored anyway). */
  resent(): number;
  /** Attempt outcomes by status code or error code. */
  outcomes(): Record<string, number>;
  /** Stops sending; resolves when the requests in flight have ended. Idempotent. */
  stop(): Promise<void>;
}

const TICK_MS = 10;

/**
 * Users sending numbered events (`properties.seq` 0, 1, 2...) the way an
 * SDK does: one request at a time per user, the next only after the
 * previous one was acknowledged, a failed one sent again with the same
 * messageIds; so a user's acknowledged events form a prefix of its sequence
 * and its sink must see them in that order. Requests are paced to
 * `eventsPerSecond` over all users, oldest idle user first.
 */
export function startSequenceLoad(options: SequenceLoadOptions): SequenceLoad {
  const retryDelayMs = options.retryDelayMs ?? 100;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const agent = new Agent({ connections: 64, keepAliveTimeout: 4_000 });
  const sent = new Map<string, SequencedEvent>();
  const acked = new Map<string, SequencedEvent>();
  const outcomes: Record<string, number> = {};
  const next = new Array<number>(options.users).fill(0);
  const idle = Array.from({ length: options.users }, (_, i) => i);
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let issued = 0;
  let resent = 0;
  let stopped = false;
  let stopping: Promise<void> | undefined;

  const send = async (i: number): Promise<void> => {
    const user = `${options.prefix}${i}`;
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
    for (const e of batch) {
      if (sent.has(e.messageId)) resent++;
      sent.set(e.messageId, { user, seq: e.properties.seq });
    }
    let outcome: string;
    try {
      const res = await request(`${options.url()}/v1/batch`, {
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
      next[i] = from + batch.length;
    } else {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
    idle.push(i);
  };

  const timer = setInterval(() => {
    const due = ((performance.now() - started) / 1000) * options.eventsPerSecond;
    // A stall (all users busy) does not turn into a burst afterwards.
    issued = Math.max(issued, due - options.eventsPerRequest * 2);
    while (!stopped && issued + options.eventsPerRequest <= due && idle.length > 0) {
      issued += options.eventsPerRequest;
      const p = send(idle.shift()!).finally(() => pending.delete(p));
      pending.add(p);
    }
  }, TICK_MS);

  return {
    sent,
    acked,
    resent: () => resent,
    outcomes: () => ({ ...outcomes }),
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
  return typeof e.name === 'string' ? e.name : 'UNKNOWN';
}
