import { setTimeout as sleep } from 'node:timers/promises';
import { parseWorkspaceConfig, type Logger, type WorkspaceConfig } from '@rudder/common';
import { nextAttemptDelayMs, type BackoffOptions } from '../router/retry-policy.ts';
import type { ConfigStore } from './config-store.ts';
import type { ConfigPoll, FetchConfig } from './config-client.ts';

/** Least time between the starts of two polls that both succeeded. */
const MIN_POLL_SPACING_MS = 100;

/** Where the last good config is kept between runs (config-cache.ts in the tenant database). */
export interface ConfigCache {
  load(): Promise<WorkspaceConfig | undefined>;
  save(config: WorkspaceConfig): Promise<void>;
}

/**
 * How the link to the control plane stands:
 * - `starting`: before the first answer;
 * - `synced`: the last poll was answered (200 or 304), the config is current;
 * - `unreachable`: the last poll failed (network, timeout, 5xx);
 * - `refused`: the last poll was answered 401/403 (a bad or revoked token);
 * - `stopped`.
 */
export type ConfigSyncState = 'starting' | 'synced' | 'unreachable' | 'refused' | 'stopped';

export interface HttpConfigSourceOptions {
  fetch: FetchConfig;
  store: ConfigStore;
  cache: ConfigCache;
  logger: Logger;
  /** Long-poll hold the server may use (`CONFIG_WAIT_SECONDS`). */
  waitSeconds: number;
  /** Timeout of the first request at start, after which the cached config is used. */
  startTimeoutMs?: number;
  /** Retry delays while the control plane is unreachable or refuses. */
  backoff?: BackoffOptions;
  random?: () => number;
}

/**
 * Feeds the config store from the control plane: `GET /v1/dataplane/config`
 * long-polled with `If-None-Match`, so a change arrives as soon as the server
 * answers. Each new config is installed and cached in the tenant database
 * with the ETag as its version; an invalid one is logged and ignored. When
 * the control plane cannot be reached at start, the data plane runs on the
 * cached config and keeps retrying in the background with capped, jittered
 * backoff.
 */
export class HttpConfigSource {
  private readonly o: Required<Omit<HttpConfigSourceOptions, 'random'>> & { random: () => number };
  private readonly abort = new AbortController();
  private etag: string | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private syncState: ConfigSyncState = 'starting';
  private syncedAt: Date | undefined;

  constructor(options: HttpConfigSourceOptions) {
    this.o = {
      startTimeoutMs: 5_000,
      backoff: { baseMs: 500, maxMs: 30_000 },
      random: Math.random,
      ...options,
    };
  }

  /** State of the link, for readiness logging. */
  get state(): ConfigSyncState {
    return this.syncState;
  }

  /** When the control plane last answered a poll (200 or 304). */
  get lastSyncAt(): Date | undefined {
    return this.syncedAt;
  }

  /** ETag of the running config, when it came from the control plane. */
  get version(): string | undefined {
    return this.etag;
  }

  /**
   * Installs the control plane's config, or the cached one when the control
   * plane is unreachable or refuses; fails when neither exists. Then keeps
   * polling in the background until `stop`.
   */
  async start(): Promise<void> {
    // waitSeconds=0: at start an answer now matters more than waiting for a change.
    const first = await this.poll(0, this.o.startTimeoutMs);
    if (!this.o.store.isReady()) {
      const cached = await this.o.cache.load();
      if (!cached) {
        throw new Error(
          `no workspace config: the control plane did not provide one (${explain(first)}) and the database has no cached config`,
        );
      }
      this.o.logger.warn(
        { version: cached.version, reason: explain(first) },
        'control plane config unavailable; running on the config cached in the database',
      );
      this.o.store.set(cached);
    }
    this.running = this.run();
  }

  /** Aborts the poll in flight and stops. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.syncState = 'stopped';
  }

  private async run(): Promise<void> {
    const timeoutMs = this.o.waitSeconds * 1000 + 10_000;
    // A failed start counts: the first background poll already backs off.
    let delay = this.delayAfter(undefined, 0);
    while (!this.abort.signal.aborted) {
      if (delay > 0) await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
      if (this.abort.signal.aborted) break;
      const started = Date.now();
      const result = await this.poll(this.o.waitSeconds, timeoutMs);
      delay = this.delayAfter(result, Date.now() - started);
    }
  }

  /** How long to wait before the next poll, after `result` took `elapsedMs`. */
  private delayAfter(result: ConfigPoll | undefined, elapsedMs: number): number {
    if (this.failures > 0) return nextAttemptDelayMs(this.failures, this.o.backoff, undefined, this.o.random);
    // Without an ETag the server cannot hold the next request: fall back to plain periodic polling.
    if (result?.kind === 'changed' && result.etag === undefined)
      return Math.max(1000, this.o.waitSeconds * 1000);
    // Normally 0: the next poll goes out at once. The floor only keeps a server that answers 304 without
    // holding the request from turning this into a busy loop.
    return MIN_POLL_SPACING_MS - elapsedMs;
  }

  /** One request and what follows from its answer; returns the answer. */
  private async poll(waitSeconds: number, timeoutMs: number): Promise<ConfigPoll> {
    const result = await this.o.fetch({
      etag: this.etag,
      waitSeconds,
      timeoutMs,
      signal: this.abort.signal,
    });
    if (this.abort.signal.aborted) return result;
    switch (result.kind) {
      case 'changed':
        await this.apply(result.etag, result.text);
        this.synced();
        break;
      case 'unchanged':
        this.synced();
        break;
      case 'refused':
        this.failed('refused');
        // The status only: the token never reaches a log line.
        this.o.logger.error(
          { status: result.status, attempt: this.failures },
          'control plane refused the data-plane token; retrying with backoff',
        );
        break;
      case 'failed':
        this.failed('unreachable');
        this.o.logger.warn(
          { reason: result.reason, attempt: this.failures },
          'control plane config poll failed; retrying with backoff',
        );
        break;
    }
    return result;
  }

  private async apply(etag: string | undefined, text: string): Promise<void> {
    // Remembered even when the config is invalid: the next poll then waits for a change instead of
    // fetching the same bad config again at once.
    this.etag = etag;
    let config: WorkspaceConfig;
    try {
      config = parseWorkspaceConfig(JSON.parse(text));
    } catch (err) {
      this.o.logger.error(
        { version: etag, error: String(err) },
        'control plane served an invalid config; keeping the previous config',
      );
      return;
    }
    if (etag !== undefined) config = { ...config, version: etag };
    else this.o.logger.warn('control plane answered without an ETag; falling back to periodic polling');
    this.o.store.set(config);
    await this.o.cache
      .save(config)
      .catch((err: unknown) => this.o.logger.warn({ err }, 'could not cache config in the database'));
    this.o.logger.info(
      { version: config.version, workspaces: config.workspaces.length },
      'config loaded from the control plane',
    );
  }

  private synced(): void {
    if (this.failures > 0) this.o.logger.info({ attempts: this.failures }, 'control plane reachable again');
    this.failures = 0;
    this.syncState = 'synced';
    this.syncedAt = new Date();
  }

  private failed(state: 'refused' | 'unreachable'): void {
    this.failures++;
    this.syncState = state;
  }
}

function explain(poll: ConfigPoll): string {
  switch (poll.kind) {
    case 'changed':
      return 'it served an invalid config';
    case 'unchanged':
      return 'it answered 304 to a first request';
    case 'refused':
      return `it refused the data-plane token with HTTP ${poll.status}`;
    case 'failed':
      return `unreachable: ${poll.reason}`;
  }
}
