import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { RudderError, toRudderError } from '@rudder/common';
import type { AppDeps } from './deps.ts';
import { expressPath, type RouteSpec } from './route.ts';
import { parseOrThrow } from './validate.ts';
import { authenticate, authorizeTenant } from './authenticate.ts';
import { httpMetrics } from './metrics.ts';

/**
 * The express app: JSON bodies, one handler per route of the table (auth,
 * validation, tenant authorization, then the route), one error middleware
 * that maps every error to `{ error: { code, message } }`.
 */
export function createHttpApp(deps: AppDeps, routes: readonly RouteSpec[]): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, uniquelocal');
  const observe = httpMetrics(deps.metrics);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = req.get('x-request-id') ?? randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (res.locals['route'] as string | undefined) ?? 'unmatched';
      observe(req.method, route, res.statusCode, seconds);
      // The path only: query strings can carry write keys (sourceConfig).
      deps.logger.debug(
        {
          requestId,
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    });
    next();
  });
  app.use(express.json({ limit: deps.config.http.maxBodyBytes, strict: true }));
  // Browser SDKs on any site load their source config from here (with a Basic write key, so preflighted).
  app.use('/sourceConfig', cors({ origin: true, methods: ['GET'], maxAge: 86_400 }));

  for (const route of routes) {
    app[route.method](expressPath(route.path), async (req: Request, res: Response) => {
      res.locals['route'] = route.path;
      const principal = await authenticate(req, deps, route.auth);
      const params = route.params ? parseOrThrow(route.params, req.params, 'params') : {};
      const access =
        route.role === undefined
          ? undefined
          : await authorizeTenant(deps, principal, String(req.params['tenantId']), route.role);
      const query = route.query ? parseOrThrow(route.query, req.query, 'query') : {};
      const body = route.body ? parseOrThrow(route.body, req.body ?? {}, 'body') : undefined;
      const log = deps.logger.child({
        requestId: res.locals['requestId'] as string,
        ...(access ? { tenant: access.tenantId } : {}),
      });
      const reply = await route.handler({ params, query, body, principal, access, deps, log, req, res });
      if (reply === undefined) return;
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      res.status(reply.status ?? 200);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    });
  }

  app.use((req: Request) => {
    throw new RudderError('not_found', `no route ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = fromExpress(err);
    if (e.status >= 500)
      deps.logger.error(
        { err: loggable(e.cause ?? e), method: req.method, path: req.path },
        'request failed',
      );
    if (e.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(e.retryAfterSeconds));
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(e.status).json(e.toBody());
  });
  return app;
}

/** body-parser signals bad bodies with `type`; everything else goes through toRudderError. */
function fromExpress(err: unknown): RudderError {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return new RudderError('payload_too_large', 'request body too large');
  if (type === 'entity.parse.failed')
    return new RudderError('invalid_json', 'request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return new RudderError('invalid_request', 'unsupported body encoding');
  return toRudderError(err);
}

/**
 * Postgres errors carry the offending row's values in `detail` (`Key
 * (write_key)=(...) already exists`); log what identifies the failure, not the data.
 */
function loggable(err: unknown): unknown {
  const e = err as {
    severity?: unknown;
    code?: unknown;
    message?: unknown;
    constraint?: unknown;
    table?: unknown;
  };
  if (typeof e?.severity !== 'string' || typeof e.code !== 'string') return err;
  return {
    type: 'DatabaseError',
    message: e.message,
    code: e.code,
    constraint: e.constraint,
    table: e.table,
  };
}
