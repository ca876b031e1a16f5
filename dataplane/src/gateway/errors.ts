import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RudderError, toRudderError, type Logger } from '@rudder/common';
import type { GatewayMetrics } from './metrics.ts';

/** An error as the client will see it: the HTTP status and the RudderError behind the JSON body. */
export interface HttpFailure {
  status: number;
  error: RudderError;
}

/**
 * Maps anything thrown while serving a request to its HTTP answer. RudderErrors
 * keep their status; fastify's own request errors (body over `bodyLimit`, a
 * Content-Length that lies, a malformed Content-Type) keep their 4xx status
 * under a stable code; everything else is a 500 whose text is not shown.
 */
export function httpFailureOf(err: unknown, maxRequestBytes: number): HttpFailure {
  if (err instanceof RudderError) return { status: err.status, error: err };
  const code = (err as { code?: unknown }).code;
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const error = new RudderError('payload_too_large', `request body exceeds ${maxRequestBytes} bytes`);
    return { status: error.status, error };
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, error: new RudderError('invalid_request', (err as Error).message) };
  }
  const error = toRudderError(err);
  return { status: error.status, error };
}

/** The route pattern a request matched, for metric labels ('unmatched' for 404s). */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/**
 * Sends a failure as `{ "error": { "code", "message" } }`, with `Retry-After`
 * on 429/503 so SDKs back off instead of hammering a recovering database.
 */
export function sendFailure(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  const { status, error } = failure;
  if (error.retryAfterSeconds !== undefined || status === 503 || status === 429) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1))));
  }
  return reply.code(status).send(error.toBody());
}

/** The one error handler of the gateway, plus the 404 handler, both answering the JSON error body. */
export function installErrorHandling(
  app: FastifyInstance,
  deps: { logger: Logger; metrics: GatewayMetrics; maxRequestBytes: number },
): void {
  const { logger, metrics, maxRequestBytes } = deps;
  app.setErrorHandler((err, request, reply) => {
    const failure = httpFailureOf(err, maxRequestBytes);
    recordFailure(request, failure, err, { logger, metrics });
    return sendFailure(reply, failure);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0];
    const error = new RudderError('not_found', `no route for ${request.method} ${path}`);
    return sendFailure(reply, { status: error.status, error });
  });
}

/**
 * Counts a refused request and logs it: internal errors at error level with
 * their cause; client errors and 503s only at debug, as a misbehaving client
 * or a database outage (which the store reports itself) would otherwise flood
 * the log with one line per request.
 */
export function recordFailure(
  request: FastifyRequest,
  failure: HttpFailure,
  thrown: unknown,
  deps: { logger: Logger; metrics: GatewayMetrics },
): void {
  const route = routeOf(request);
  deps.metrics.rejected.inc({ route, code: failure.error.code });
  if (failure.status >= 500 && failure.status !== 503) {
    deps.logger.error(
      { err: failure.error.cause ?? thrown, route, reqId: request.id },
      failure.error.message,
    );
  } else if (deps.logger.isLevelEnabled('debug')) {
    deps.logger.debug({ route, reqId: request.id, code: failure.error.code }, failure.error.message);
  }
}
