import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Logger } from '@rudder/common';
import type { Replay, ReplayReport } from './types.ts';

/** The control plane's side of replays, as the agent uses it. */
export interface ReplayApi {
  /** Replays to run (status `requested` or `running`); throws when the control plane cannot say. */
  list(signal: AbortSignal): Promise<Replay[]>;
  /** Reports progress; `gone` when the replay was cancelled or deleted. Throws on any other failure. */
  report(id: string, report: ReplayReport, signal: AbortSignal): Promise<'accepted' | 'gone'>;
}

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const replaySchema = z.object({
  id: z.string().min(1).max(256),
  sourceId: z.string().min(1),
  destinationId: z.string().min(1),
  from: isoDate,
  to: isoDate,
  status: z.string(),
});

const listSchema = z.object({ replays: z.array(z.unknown()) });

/**
 * The replay endpoints of the control plane, with the data-plane token:
 * `GET {url}/v1/dataplane/replays` and
 * `POST {url}/v1/dataplane/replays/{id}/progress`.
 */
export class HttpReplayApi implements ReplayApi {
  private readonly o: {
    url: string;
    token: string;
    timeoutMs: number;
    dispatcher?: Dispatcher;
    logger: Logger;
  };

  constructor(options: {
    url: string;
    token: string;
    logger: Logger;
    timeoutMs?: number;
    dispatcher?: Dispatcher;
  }) {
    this.o = { timeoutMs: 10_000, ...options };
  }

  async list(signal: AbortSignal): Promise<Replay[]> {
    const res = await request(`${this.o.url}/v1/dataplane/replays`, this.options('GET', signal));
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`listing replays: HTTP ${res.statusCode}`);
    }
    const { replays } = listSchema.parse(await res.body.json());
    const out: Replay[] = [];
    for (const raw of replays) {
      const parsed = replaySchema.safeParse(raw);
      if (!parsed.success) {
        // One malformed entry must not hold up the others.
        this.o.logger.error(
          { error: z.prettifyError(parsed.error) },
          'control plane listed an invalid replay',
        );
        continue;
      }
      const { status, ...replay } = parsed.data;
      if (status === 'requested' || status === 'running') out.push(replay);
    }
    return out;
  }

  async report(id: string, report: ReplayReport, signal: AbortSignal): Promise<'accepted' | 'gone'> {
    const res = await request(`${this.o.url}/v1/dataplane/replays/${encodeURIComponent(id)}/progress`, {
      ...this.options('POST', signal),
      body: JSON.stringify(report),
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return 'accepted';
    if (res.statusCode === 404 || res.statusCode === 409) return 'gone';
    throw new Error(`reporting replay progress: HTTP ${res.statusCode}`);
  }

  private options(method: 'GET' | 'POST', signal: AbortSignal): NonNullable<Parameters<typeof request>[1]> {
    return {
      method,
      headers: {
        authorization: `Bearer ${this.o.token}`,
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      ...(this.o.dispatcher ? { dispatcher: this.o.dispatcher } : {}),
    };
  }
}
