/**
 * Container resources: the operator's defaults per container, and how a
 * partial `Resources` from the spec is completed from them.
 */
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { Resources } from '@rudder/common/rudder-instance';

type Quantity = number | string;
type ResourceName = 'cpu' | 'memory';

/** Fully specified requests and limits. */
export interface ResolvedResources {
  requests: Record<ResourceName, string>;
  limits: Record<ResourceName, string>;
}

/** Gateway: stateless HTTP ingestion, mostly JSON parsing and group commits. */
export const DEFAULT_GATEWAY_RESOURCES: ResolvedResources = {
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

/** Worker: processor, user transformations (isolated-vm heaps) and router for its partitions. */
export const DEFAULT_WORKER_RESOURCES: ResolvedResources = {
  requests: { cpu: '500m', memory: '512Mi' },
  limits: { cpu: '2', memory: '1Gi' },
};

/** Managed Postgres: the tenant's jobs database. */
export const DEFAULT_POSTGRES_RESOURCES: ResolvedResources = {
  requests: { cpu: '250m', memory: '512Mi' },
  limits: { cpu: '2', memory: '2Gi' },
};

/** A quantity as the Kubernetes API takes it (an int-or-string in the CRD, a string in resource lists). */
export function quantity(value: Quantity): string {
  return String(value);
}

/**
 * `spec` completed from `defaults` per resource. When the spec sets only one
 * side of a resource and it crosses the default other side, the other side
 * follows it, so that a request never exceeds its limit.
 */
export function resolveResources(
  spec: Resources | undefined,
  defaults: ResolvedResources,
): ResolvedResources {
  const resolved: ResolvedResources = { requests: { ...defaults.requests }, limits: { ...defaults.limits } };
  for (const name of ['cpu', 'memory'] as const) {
    const request = spec?.requests?.[name];
    const limit = spec?.limits?.[name];
    if (request !== undefined) resolved.requests[name] = quantity(request);
    if (limit !== undefined) resolved.limits[name] = quantity(limit);
    // Both set is the user's call (the API server rejects a request above its limit); so is an
    // unparsable quantity (NaN compares false).
    if (request !== undefined && limit !== undefined) continue;
    if (!(parseQuantity(resolved.requests[name]) > parseQuantity(resolved.limits[name]))) continue;
    if (limit === undefined) resolved.limits[name] = resolved.requests[name];
    else resolved.requests[name] = resolved.limits[name];
  }
  return resolved;
}

/** As the API takes it in a container spec. */
export function toRequirements(resources: ResolvedResources): V1ResourceRequirements {
  return { requests: { ...resources.requests }, limits: { ...resources.limits } };
}

const SUFFIXES: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A Kubernetes quantity as a number of base units (cores, bytes), precise
 * enough to compare two quantities. NaN when it is not a quantity.
 */
export function parseQuantity(value: Quantity): number {
  if (typeof value === 'number') return value;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([KMGTPE]i|[numkMGTPE])?)$/.exec(
    value.trim(),
  );
  if (match === null) return Number.NaN;
  const [, mantissa, exponent, suffix] = match;
  if (exponent !== undefined) return Number(`${mantissa}${exponent}`);
  return Number(mantissa) * (SUFFIXES[suffix ?? ''] ?? Number.NaN);
}
