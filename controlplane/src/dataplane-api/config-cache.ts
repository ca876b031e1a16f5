import type pg from 'pg';
import { loadTenantConfig } from './config-builder.ts';

export interface ServedConfig {
  version: number;
  etag: string;
  /** The config serialized once, answered as is to every data plane of the tenant. */
  json: string;
}

/**
 * The last built config of each tenant, by version. Configs are built once per
 * version no matter how many data-plane replicas ask; concurrent misses for the
 * same tenant share one build. Bounded: the least recently used tenant goes first.
 */
export class TenantConfigCache {
  private readonly entries = new Map<string, ServedConfig>();
  private readonly building = new Map<string, Promise<ServedConfig | undefined>>();
  private readonly pool: pg.Pool;
  private readonly maxTenants: number;

  constructor(options: { pool: pg.Pool; maxTenants?: number }) {
    this.pool = options.pool;
    this.maxTenants = options.maxTenants ?? 5_000;
  }

  /** The config at `version` or newer; undefined when the tenant is gone. */
  async get(tenantId: string, version: number): Promise<ServedConfig | undefined> {
    const hit = this.entries.get(tenantId);
    if (hit && hit.version >= version) {
      this.entries.delete(tenantId);
      this.entries.set(tenantId, hit);
      return hit;
    }
    let pending = this.building.get(tenantId);
    if (!pending) {
      pending = this.build(tenantId).finally(() => this.building.delete(tenantId));
      this.building.set(tenantId, pending);
    }
    return pending;
  }

  private async build(tenantId: string): Promise<ServedConfig | undefined> {
    const loaded = await loadTenantConfig(this.pool, tenantId);
    if (!loaded) {
      this.entries.delete(tenantId);
      return undefined;
    }
    const served = {
      version: loaded.version,
      etag: etagOf(loaded.version),
      json: JSON.stringify(loaded.config),
    };
    const current = this.entries.get(tenantId);
    if (!current || current.version <= served.version) {
      this.entries.delete(tenantId);
      this.entries.set(tenantId, served);
    }
    while (this.entries.size > this.maxTenants) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return served;
  }
}

export function etagOf(version: number): string {
  return `"${version}"`;
}
