/**
 * The tenant namespace's Secrets, and the hash of what the data-plane pods
 * read from them at start. Secret values appear in Secret `data` only: pods
 * get them through `secretKeyRef` or a secret volume, never as literals.
 */
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { namespacedMeta, type Owner } from './meta.ts';
import { POSTGRES_PORT } from './ports.ts';

/** The secret values the operator has gathered (generated, or read from the referenced Secrets). */
export interface DesiredSecrets {
  /** Password of the managed Postgres' `rudder` user. */
  postgresPassword: string;
  /** Bearer token of the data plane's admin API. */
  adminToken: string;
  /** The tenant's data-plane token from the control plane; undefined until it has been issued. */
  dataplaneToken: string | undefined;
  /** The external database's URL (from `spec.database.external.urlSecretRef`). */
  externalDatabaseUrl?: string | undefined;
}

export const SECRET_NAMES = {
  dataplaneToken: 'dataplane-token',
  postgresCredentials: 'postgres-credentials',
  databaseUrl: 'database-url',
  adminToken: 'admin-token',
} as const;

export const POSTGRES_USER = 'rudder';
export const POSTGRES_DB = 'rudder';

/** A desired state cannot be built because a secret value it needs is missing. */
export class MissingSecretError extends Error {
  readonly code = 'missing_secret';
  readonly secret: string;

  constructor(secret: string, message: string) {
    super(message);
    this.name = 'MissingSecretError';
    this.secret = secret;
  }
}

/** The URL the data plane connects to its jobs database with. */
export function databaseUrl(owner: Owner, spec: DefaultedSpec, secrets: DesiredSecrets): string {
  if (spec.database.managed !== undefined) {
    const password = encodeURIComponent(secrets.postgresPassword);
    const host = `postgres.${owner.namespace}.svc.cluster.local`;
    return `postgres://${POSTGRES_USER}:${password}@${host}:${POSTGRES_PORT}/${POSTGRES_DB}`;
  }
  if (secrets.externalDatabaseUrl === undefined || secrets.externalDatabaseUrl === '')
    throw new MissingSecretError(
      SECRET_NAMES.databaseUrl,
      `spec.database.external is set but the URL in its Secret was not provided`,
    );
  return secrets.externalDatabaseUrl;
}

export function secretObjects(owner: Owner, spec: DefaultedSpec, secrets: DesiredSecrets): V1Secret[] {
  const result: V1Secret[] = [];
  if (secrets.dataplaneToken !== undefined)
    result.push(secret(owner, SECRET_NAMES.dataplaneToken, { token: secrets.dataplaneToken }));
  if (spec.database.managed !== undefined)
    result.push(
      secret(owner, SECRET_NAMES.postgresCredentials, {
        username: POSTGRES_USER,
        password: secrets.postgresPassword,
      }),
    );
  result.push(secret(owner, SECRET_NAMES.databaseUrl, { url: databaseUrl(owner, spec, secrets) }));
  result.push(secret(owner, SECRET_NAMES.adminToken, { token: secrets.adminToken }));
  return result;
}

function secret(owner: Owner, name: string, values: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: namespacedMeta(owner, name),
    type: 'Opaque',
    data: Object.fromEntries(
      Object.entries(values).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
    ),
  };
}

/**
 * SHA-256 over every secret value a data-plane pod reads once at start (the
 * database URL, the admin token, the data-plane token), for the pod-template
 * annotation that rolls the pods when one of them changes. Each value is
 * length-prefixed so that no two different sets hash alike.
 */
export function configHash(owner: Owner, spec: DefaultedSpec, secrets: DesiredSecrets): string {
  const hash = createHash('sha256');
  const values = [databaseUrl(owner, spec, secrets), secrets.adminToken, secrets.dataplaneToken ?? ''];
  for (const value of values) {
    const bytes = Buffer.from(value, 'utf8');
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return hash.digest('hex');
}
