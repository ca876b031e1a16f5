import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '@rudder/common';

/**
 * Hears every tenant config change, from this replica or any other: the
 * database triggers `pg_notify('rudder_config', tenantId)` in the changing
 * transaction, so a notification arrives only once the change is committed.
 * A lost connection is re-established; waiters are woken then too, since
 * changes may have been missed in between.
 */
export class ConfigEvents {
  private readonly emitter = new EventEmitter();
  private readonly url: string;
  private readonly logger: Logger;
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(options: { url: string; logger: Logger }) {
    this.url = options.url;
    this.logger = options.logger;
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'rudder-controlplane-listen',
    });
    client.on('notification', (msg) => {
      if (msg.channel === 'rudder_config' && msg.payload) this.emitter.emit(msg.payload);
    });
    client.on('error', (err) => {
      this.logger.warn({ error: String(err) }, 'config change listener lost its connection; reconnecting');
      this.reconnectSoon();
    });
    client.on('end', () => this.reconnectSoon());
    await client.connect();
    await client.query('LISTEN rudder_config');
    this.client = client;
  }

  /** Resolves when `tenantId`'s config changes, or after `timeoutMs`, or on `signal`; true on change. */
  waitForChange(tenantId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (changed: boolean): void => {
        clearTimeout(timer);
        this.emitter.off(tenantId, onChange);
        this.emitter.off('*', onChange);
        signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const onChange = (): void => done(true);
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.emitter.once(tenantId, onChange);
      this.emitter.once('*', onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Long-polls currently held open. */
  waiting(): number {
    return this.emitter.listenerCount('*');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.emitter.emit('*');
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private reconnectSoon(): void {
    if (this.stopped || this.retry) return;
    this.client = undefined;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start()
        .then(() => this.emitter.emit('*'))
        .catch((err: unknown) => {
          this.logger.warn({ error: String(err) }, 'config change listener cannot reconnect; retrying');
          this.reconnectSoon();
        });
    }, 1000);
    this.retry.unref();
  }
}
