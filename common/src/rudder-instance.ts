/**
 * The RudderInstance resource: its generated types and schema (from the CRD,
 * see rudder-instance.gen.ts) and the defaulting the API server applies, for
 * code that builds or reads instances without a cluster.
 */
import {
  RUDDER_INSTANCE_SCHEMA,
  type AutoscalingSpec,
  type RudderInstanceSpec,
} from './rudder-instance.gen.ts';

export * from './rudder-instance.gen.ts';

interface SchemaNode {
  type?: string;
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/**
 * `value` with the schema's defaults filled in the way the API server does
 * structural defaulting: a missing property with a `default` gets it (then its
 * own defaults), present objects are defaulted recursively. Returns a copy.
 */
export function applySchemaDefaults<T>(schema: unknown, value: T): T {
  return fill(schema as SchemaNode, structuredClone(value)) as T;
}

function fill(node: SchemaNode, value: unknown): unknown {
  if (Array.isArray(value)) return node.items ? value.map((item) => fill(node.items!, item)) : value;
  if (value === null || typeof value !== 'object' || node.properties === undefined) return value;
  const object = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(node.properties)) {
    if (object[key] === undefined && child.default !== undefined)
      object[key] = structuredClone(child.default);
    if (object[key] !== undefined) object[key] = fill(child, object[key]);
  }
  return object;
}

type DeepRequired<T> = T extends (infer U)[]
  ? DeepRequired<U>[]
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<NonNullable<T[K]>> }
    : T;

/** Spec fields the CRD gives a default, made required: what the API server hands the operator. */
export type DefaultedSpec = RudderInstanceSpec & {
  paused: boolean;
  controlPlane: RudderInstanceSpec['controlPlane'] & {
    tokenSecretRef: DeepRequired<RudderInstanceSpec['controlPlane']['tokenSecretRef']>;
  };
  dataPlane: RudderInstanceSpec['dataPlane'] &
    Required<
      Pick<
        RudderInstanceSpec['dataPlane'],
        'imagePullPolicy' | 'replicas' | 'gatewayReplicas' | 'partitions' | 'logLevel'
      >
    > & { autoscaling?: Required<AutoscalingSpec> };
  quota: DeepRequired<NonNullable<RudderInstanceSpec['quota']>>;
};

const SPEC_SCHEMA = (RUDDER_INSTANCE_SCHEMA as SchemaNode).properties!.spec!;

/** The spec with the CRD's defaults applied (a copy). */
export function defaultedSpec(spec: RudderInstanceSpec): DefaultedSpec {
  return applySchemaDefaults(SPEC_SCHEMA, spec) as DefaultedSpec;
}
