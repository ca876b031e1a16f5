import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'writeKey',
  'secret',
  '*.authorization',
  '*.password',
  '*.token',
  '*.writeKey',
  '*.secret',
  '*.apiKey',
  '*.api_key',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'config.apiKey',
  'config.headers',
  'databaseUrl',
];

export type { Logger };

/** One JSON logger per program; pass `destination` to capture lines (tests). */
export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const opts: LoggerOptions = {
    name,
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
