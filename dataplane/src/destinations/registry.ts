import { z } from 'zod';
import { RudderError, type DestinationConfig, type MessageType } from '@rudder/common';
import type { DeliveryDefaults, DestinationType } from './contract.ts';
import { amplitudeDestination } from './amplitude/amplitude.ts';
import type { AmplitudeConfig } from './amplitude/config.ts';
import { webhookDestination } from './webhook/webhook.ts';
import type { WebhookConfig } from './webhook/config.ts';

/** The parsed config of each built-in type, so callers naming a literal type get a typed config. */
export interface DestinationConfigs {
  webhook: WebhookConfig;
  amplitude: AmplitudeConfig;
}

const all: DestinationType<unknown>[] = [webhookDestination, amplitudeDestination];

/** Every destination type the data plane can deliver to, by catalog key. */
export const destinationTypes: ReadonlyMap<string, DestinationType<unknown>> = new Map(
  all.map((d) => [d.type, d]),
);

/** The destination type of a catalog key; an unknown key is a bad request, not a crash. */
export function getDestinationType(type: string): DestinationType<unknown> {
  const found = destinationTypes.get(type);
  if (found === undefined) {
    throw new RudderError('invalid_request', `unknown destination type "${type}"`, {
      details: { type, known: [...destinationTypes.keys()] },
    });
  }
  return found;
}

/**
 * Validates a destination's `config` against its type's schema and returns it
 * with defaults applied. Throws a RudderError naming the first bad field
 * (all issues are in `details.issues`).
 */
export function parseDestinationConfig<T extends keyof DestinationConfigs>(
  type: T,
  raw: unknown,
): DestinationConfigs[T];
export function parseDestinationConfig(type: string, raw: unknown): unknown;
export function parseDestinationConfig(type: string, raw: unknown): unknown {
  const result = getDestinationType(type).configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: fieldOf(issue.path), message: issue.message }));
  const first = issues[0] ?? { field: '(config)', message: 'invalid' };
  throw new RudderError(
    'invalid_request',
    `invalid ${type} destination config: ${first.field}: ${first.message}`,
    {
      details: { type, field: first.field, issues },
    },
  );
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(config)' : path.map(String).join('.');
}

/**
 * The delivery settings of one destination: its type's defaults, then what
 * its config implies, then the destination's own overrides. An override may
 * lower the batch size but not raise it past what the type can send.
 */
export function resolveDelivery(
  destination: Pick<DestinationConfig, 'type' | 'config' | 'delivery'>,
): DeliveryDefaults {
  const type = getDestinationType(destination.type);
  const config = parseDestinationConfig(destination.type, destination.config);
  const base: DeliveryDefaults = { ...type.delivery, ...type.deliveryFor?.(config) };
  const overrides = destination.delivery;
  const rate = overrides.rateLimitPerSecond ?? base.rateLimitPerSecond;
  return {
    maxBatchSize: Math.min(overrides.maxBatchSize ?? base.maxBatchSize, base.maxBatchSize),
    maxBatchBytes: base.maxBatchBytes,
    concurrency: overrides.concurrency ?? base.concurrency,
    timeoutMs: overrides.timeoutMs ?? base.timeoutMs,
    ...(rate === undefined ? {} : { rateLimitPerSecond: rate }),
  };
}

/** One entry of the catalog the control plane serves. */
export interface CatalogEntry {
  type: string;
  displayName: string;
  supportedMessageTypes: MessageType[];
  delivery: DeliveryDefaults;
  /** JSON Schema (draft 2020-12) of the config a user writes: defaulted fields are optional. */
  configSchema: Record<string, unknown>;
}

/** A JSON-serializable description of every destination type. */
export function catalog(): CatalogEntry[] {
  return [...destinationTypes.values()].map((d) => ({
    type: d.type,
    displayName: d.displayName,
    supportedMessageTypes: [...d.supportedMessageTypes],
    delivery: { ...d.delivery },
    configSchema: z.toJSONSchema(d.configSchema, { io: 'input' }),
  }));
}
