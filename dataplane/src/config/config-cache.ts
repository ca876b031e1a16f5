import type pg from 'pg';
import { parseWorkspaceConfig, type WorkspaceConfig } from '@rudder/common';

/** Stores the last good config in the tenant database. */
export async function saveCachedConfig(pool: pg.Pool, config: WorkspaceConfig): Promise<void> {
  await pool.query(
    `INSERT INTO config_cache (id, version, config, updated_at) VALUES (1, $1, $2, now())
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, config = EXCLUDED.config, updated_at = now()`,
    [config.version, JSON.stringify(config)],
  );
}

/** The cached config, or undefined when none was ever stored. */
export async function loadCachedConfig(pool: pg.Pool): Promise<WorkspaceConfig | undefined> {
  const result = await pool.query<{ config: unknown }>('SELECT config FROM config_cache WHERE id = 1');
  const row = result.rows[0];
  return row ? parseWorkspaceConfig(row.config) : undefined;
}
