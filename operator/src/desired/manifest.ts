/**
 * The desired objects are typed with @kubernetes/client-node's models, which
 * rename two API fields the objects here use: `NetworkPolicyIngressRule.from`
 * is `_from` and `LimitRangeItem.default` is `_default`. The client's
 * `KubernetesObjectApi` serializes them back to the API's names; anything that
 * sends the objects another way (plain JSON over HTTP, YAML for kubectl) must
 * go through `toManifest` first: a NetworkPolicy whose `_from` the API server
 * drops as an unknown field would admit traffic from everywhere.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `object` as the Kubernetes API spells it (a deep copy). */
export function toManifest(object: KubernetesObject): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(object)) as { [key: string]: Json };
  const spec = copy.spec;
  if (!isRecord(spec)) return copy;
  if (copy.kind === 'NetworkPolicy' && Array.isArray(spec.ingress))
    spec.ingress = spec.ingress.map((rule) => rename(rule, '_from', 'from'));
  if (copy.kind === 'LimitRange' && Array.isArray(spec.limits))
    spec.limits = spec.limits.map((item) => rename(item, '_default', 'default'));
  return copy;
}

function rename(value: Json, from: string, to: string): Json {
  if (!isRecord(value) || !(from in value)) return value;
  const { [from]: moved, ...rest } = value;
  return { ...rest, [to]: moved ?? null };
}

function isRecord(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
