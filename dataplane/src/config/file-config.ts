import { readFile } from 'node:fs/promises';
import { watchFile, unwatchFile } from 'node:fs';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { parseWorkspaceConfig, type Logger, type WorkspaceConfig } from '@rudder/common';
import type { ConfigStore } from './config-store.ts';
import { loadCachedConfig, saveCachedConfig } from './config-cache.ts';

/**
 * Feeds the config store from a JSON file (the shape the control plane
 * serves) and reloads it when the file changes. A bad file is logged and
 * ignored: the last good config stays in force. The last good config is also
 * cached in the tenant database, so a data plane whose file is unreadable at
 * start still runs on what it had.
 */
export class FileConfigSource {
  private readonly path: string;
  private readonly store: ConfigStore;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private lastHash = '';
  private watching = false;
  private reloading: Promise<void> = Promise.resolve();

  constructor(options: { path: string; store: ConfigStore; pool: pg.Pool; logger: Logger }) {
    this.path = options.path;
    this.store = options.store;
    this.pool = options.pool;
    this.logger = options.logger;
  }

  /** Loads the file (or the cached config when the file is unusable) and starts watching. */
  async start(pollMs = 500): Promise<void> {
    const loaded = await this.reload();
    if (!loaded) {
      const cached = await loadCachedConfig(this.pool);
      if (!cached)
        throw new Error(
          `no usable config: ${this.path} is unreadable or invalid and no cached config exists`,
        );
      this.logger.warn({ version: cached.version }, 'config file unusable; running on the cached config');
      this.store.set(cached);
    }
    // Polling (stat every pollMs) works on every filesystem, including bind mounts and ConfigMap symlink swaps.
    watchFile(this.path, { interval: pollMs, persistent: false }, () => {
      this.reloading = this.reloading.then(() => this.reload().then(() => undefined));
    });
    this.watching = true;
  }

  /** Reads and applies the file; false when it is missing or invalid. */
  async reload(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      this.logger.error({ err, path: this.path }, 'cannot read config file');
      return false;
    }
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    if (hash === this.lastHash) return true;
    let config: WorkspaceConfig;
    try {
      config = parseWorkspaceConfig(JSON.parse(text));
    } catch (err) {
      this.logger.error(
        { path: this.path, error: String(err) },
        'config file is invalid; keeping the previous config',
      );
      return false;
    }
    if (!config.version) config = { ...config, version: hash };
    this.lastHash = hash;
    this.store.set(config);
    await saveCachedConfig(this.pool, config).catch((err: unknown) =>
      this.logger.warn({ err }, 'could not cache config in the database'),
    );
    this.logger.info({ version: config.version, workspaces: config.workspaces.length }, 'config loaded');
    return true;
  }

  async stop(): Promise<void> {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
    await this.reloading;
  }
}
