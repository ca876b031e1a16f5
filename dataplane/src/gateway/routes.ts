import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MESSAGE_TYPES, RudderError, type Logger } from '@rudder/common';
import { authenticate, writeKeyFromAuthorization } from './auth.ts';
import { decodeBody, parseJson } from './body.ts';
import type { RequestFacts } from './enrich.ts';
import { httpFailureOf, recordFailure } from './errors.ts';
import { batchEvents, exceedsJsonBytes, singleEvent, validateEvent, type ExtractedEvents } from './events.ts';
import { buildJobs, commitJobs } from './jobs.ts';
import type { GatewayMetrics } from './metrics.ts';
import { PIXEL_GIF, pixelEventFromQuery, type QueryParams } from './pixel.ts';
import { requestIp } from './request-ip.ts';
import type { GatewayLimits, GatewayStore, SourceDirectory } from './types.ts';

/** What the ingestion handlers need, resolved once when the server is built. */
export interface IngestContext {
  limits: GatewayLimits;
  partitions: number;
  store: GatewayStore;
  sources: SourceDirectory;
  logger: Logger;
  metrics: GatewayMetrics;
  now: () => Date;
  trustForwardedFor: boolean;
}

type Extract = (doc: unknown, bodyBytes: number) => ExtractedEvents;

/**
 * The Segment/RudderStack ingestion endpoints: `POST /v1/{type}`,
 * `POST /v1/batch` and `/v1/import`, `POST /beacon/v1/batch` (write key in the
 * query, as `navigator.sendBeacon` cannot set headers) and
 * `GET /pixel/v1/{track,page}`. Success is `200 OK` once the store committed.
 */
export function registerIngestRoutes(app: FastifyInstance, ctx: IngestContext): void {
  for (const type of MESSAGE_TYPES) {
    const extract: Extract = (doc, bodyBytes) => singleEvent(doc, type, bodyBytes, ctx.limits);
    app.post(`/v1/${type}`, (request) => ingest(ctx, request, extract, undefined));
  }
  const extractBatch: Extract = (doc, bodyBytes) => batchEvents(doc, bodyBytes, ctx.limits);
  app.post('/v1/batch', (request) => ingest(ctx, request, extractBatch, undefined));
  app.post('/v1/import', (request) => ingest(ctx, request, extractBatch, undefined));
  app.post('/beacon/v1/batch', (request) => ingest(ctx, request, extractBatch, queryWriteKey(request)));
  for (const type of ['track', 'page'] as const) {
    // No automatic HEAD route: link checkers and prefetchers HEAD image URLs, and each would count as an event.
    app.get(`/pixel/v1/${type}`, { exposeHeadRoute: false }, (request, reply) =>
      pixel(ctx, request, reply, type),
    );
  }
}

/**
 * One request through the pipeline: authenticate, decode, parse, validate
 * every event, enrich, then a single store call. Nothing is written unless all
 * of it is valid, and the answer waits for the commit.
 */
async function ingest(
  ctx: IngestContext,
  request: FastifyRequest,
  extract: Extract,
  queryKey: string | undefined,
): Promise<string> {
  const receivedAt = ctx.now();
  const outsideKey = writeKeyFromAuthorization(request.headers.authorization) ?? queryKey;
  // A key outside the body is checked first, so unknown keys cost no decompression or parsing.
  let source = outsideKey === undefined ? undefined : authenticate(ctx.sources, outsideKey);
  const encoding = request.headers['content-encoding'];
  const body = await decodeBody(request.body as Buffer | undefined, encoding, ctx.limits.maxRequestBytes);
  const extracted = extract(parseJson(body.text, ctx.limits.maxJsonDepth), body.bytes);
  source ??= authenticate(ctx.sources, extracted.writeKey);
  const jobs = buildJobs(
    extracted.events,
    source,
    factsOf(ctx, request, receivedAt, extracted.sentAt),
    ctx.partitions,
  );
  const result = await commitJobs(ctx.store, jobs, source.source.dedupWindowSeconds, body.bytes);
  countEvents(ctx.metrics, result);
  return 'OK';
}

/**
 * A pixel request always answers the GIF with 200 (an `<img>` has no use for
 * an error), but stores nothing unless the event is valid and committed;
 * refusals are still counted and logged like any other.
 */
async function pixel(
  ctx: IngestContext,
  request: FastifyRequest,
  reply: FastifyReply,
  type: 'track' | 'page',
): Promise<Buffer> {
  reply.header('content-type', 'image/gif').header('cache-control', 'no-cache, no-store, must-revalidate');
  try {
    const receivedAt = ctx.now();
    const { writeKey, event } = pixelEventFromQuery(
      request.query as QueryParams,
      type,
      ctx.limits.maxJsonDepth,
    );
    const source = authenticate(
      ctx.sources,
      writeKeyFromAuthorization(request.headers.authorization) ?? writeKey,
    );
    if (exceedsJsonBytes(event, ctx.limits.maxEventBytes)) {
      throw new RudderError('payload_too_large', `event exceeds ${ctx.limits.maxEventBytes} bytes`);
    }
    const jobs = buildJobs(
      [validateEvent(event, undefined)],
      source,
      factsOf(ctx, request, receivedAt, undefined),
      ctx.partitions,
    );
    countEvents(
      ctx.metrics,
      await commitJobs(ctx.store, jobs, source.source.dedupWindowSeconds, request.url.length),
    );
  } catch (err) {
    recordFailure(request, httpFailureOf(err, ctx.limits.maxRequestBytes), err, ctx);
  }
  return PIXEL_GIF;
}

function factsOf(
  ctx: IngestContext,
  request: FastifyRequest,
  receivedAt: Date,
  sentAt: string | undefined,
): RequestFacts {
  return {
    receivedAt,
    receivedAtIso: receivedAt.toISOString(),
    requestIp: requestIp(
      request.headers['x-forwarded-for'],
      request.socket.remoteAddress,
      ctx.trustForwardedFor,
    ),
    sentAt,
  };
}

function queryWriteKey(request: FastifyRequest): string | undefined {
  const value = (request.query as QueryParams)['writeKey'];
  return Array.isArray(value) ? value[0] : value;
}

function countEvents(metrics: GatewayMetrics, result: { stored: number; duplicates: number }): void {
  if (result.stored > 0) metrics.events.inc({ outcome: 'stored' }, result.stored);
  if (result.duplicates > 0) metrics.events.inc({ outcome: 'duplicate' }, result.duplicates);
}
