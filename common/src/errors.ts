/** Stable error codes shared by every Rudder program and used in HTTP error bodies. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'invalid_event'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'source_disabled'
  | 'rate_limited'
  | 'unavailable'
  | 'conflict'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_event: 400,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  source_disabled: 404,
  rate_limited: 429,
  unavailable: 503,
  conflict: 409,
  internal: 500,
};

/** An error that is safe to show to the caller: stable code, message, optional details. */
export class RudderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** Seconds the client should wait before retrying (429/503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RudderError';
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The JSON body every HTTP API of the platform answers errors with. */
  toBody(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** Normalizes anything thrown into a RudderError; unknown errors become `internal` without leaking their text. */
export function toRudderError(err: unknown): RudderError {
  if (err instanceof RudderError) return err;
  return new RudderError('internal', 'internal error', { cause: err });
}
