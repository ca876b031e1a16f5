import { z } from 'zod';

/** RFC 9110 token: what a header name may be. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, space, tab and obs-text: no CR/LF, so a config cannot smuggle extra headers. */
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Upper bound of `maxBatchSize`, as the workspace config allows for any destination. */
export const WEBHOOK_MAX_BATCH_SIZE = 10_000;

/** Settings of a webhook destination. */
export const webhookConfigSchema = z
  .object({
    /** Where events are sent. */
    url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }),
    method: z.enum(['POST', 'PUT', 'PATCH', 'GET']).default('POST'),
    /** Extra request headers, e.g. an Authorization header of the receiver. */
    headers: z
      .record(
        z.string().regex(headerName, 'not a valid header name'),
        z.string().regex(headerValue, 'header values may not contain control characters'),
      )
      .default({}),
    /** Send several events in one request as `{"batch":[...]}`. */
    batching: z.boolean().default(false),
    /** Most events in one batched request. */
    maxBatchSize: z.number().int().min(1).max(WEBHOOK_MAX_BATCH_SIZE).default(100),
  })
  .superRefine((config, ctx) => {
    // A GET request has no body to carry a batch in.
    if (config.method === 'GET' && config.batching) {
      ctx.addIssue({
        code: 'custom',
        path: ['batching'],
        message: 'batching needs a method with a body (not GET)',
      });
    }
  });

/** A parsed webhook config. */
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
