import { z } from 'zod';

/**
 * Facts of Amplitude's HTTP V2 API (https://amplitude.com/docs/apis/analytics/http-v2)
 * that the mapping and the delivery rules depend on.
 */
export const AMPLITUDE_ENDPOINTS = {
  us: 'https://api2.amplitude.com/2/httpapi',
  eu: 'https://api.eu.amplitude.com/2/httpapi',
} as const;

/** Most events Amplitude accepts in one request (more answers 413). */
export const AMPLITUDE_MAX_EVENTS_PER_REQUEST = 2000;
/** Amplitude asks for requests under 1 MB (more answers 413). */
export const AMPLITUDE_MAX_BODY_BYTES = 1_000_000;
/** Shortest user_id/device_id Amplitude accepts unless `options.min_id_length` lowers it. */
export const AMPLITUDE_DEFAULT_MIN_ID_LENGTH = 5;

/** Settings of an Amplitude destination. */
export const amplitudeConfigSchema = z.object({
  /** The project's API key; it travels in the request body. */
  apiKey: z.string().trim().min(1, 'apiKey is required'),
  /** `eu` for projects in Amplitude's EU data center. */
  dataResidency: z.enum(['us', 'eu']).default('us'),
  /**
   * Shortest accepted user/device id, sent as `options.min_id_length`. Set it
   * when user ids are short (e.g. numeric database ids); left unset, Amplitude
   * requires 5 characters.
   */
  minIdLength: z.number().int().min(1).max(256).optional(),
  /**
   * Replaces the regional endpoint: an HTTP proxy in front of Amplitude, or a
   * local stand-in in tests. Normally unset.
   */
  endpoint: z.url({ protocol: /^https?$/, error: 'endpoint must be an http(s) URL' }).optional(),
  /** Group type used for `group` calls whose traits carry no `groupType`. */
  defaultGroupType: z.string().trim().min(1).default('group'),
});

/** A parsed Amplitude config. */
export type AmplitudeConfig = z.infer<typeof amplitudeConfigSchema>;

/** The effective minimum id length of a config. */
export function minIdLengthOf(config: AmplitudeConfig): number {
  return config.minIdLength ?? AMPLITUDE_DEFAULT_MIN_ID_LENGTH;
}

/** Where a config's requests go. */
export function endpointOf(config: AmplitudeConfig): string {
  return config.endpoint ?? AMPLITUDE_ENDPOINTS[config.dataResidency];
}
