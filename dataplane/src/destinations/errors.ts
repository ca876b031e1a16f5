/** Stable reasons an event cannot be mapped to a destination. */
export type TransformErrorCode =
  /** The destination needs an identifier the event does not carry. */
  | 'missing_identifier'
  /** An identifier is shorter than the destination accepts. */
  | 'identifier_too_short'
  /** The destination does not take this message type. */
  | 'unsupported_message_type'
  /** A field the mapping needs is absent or has the wrong type. */
  | 'invalid_field';

/**
 * Thrown by a destination's `transform` for an event that can never be
 * delivered. The processor records it on the event (no retry: the same input
 * would fail the same way).
 */
export class TransformError extends Error {
  readonly code: TransformErrorCode;
  readonly destinationType: string;
  /** The event field at fault, when there is one (dotted path). */
  readonly field: string | undefined;

  constructor(
    destinationType: string,
    code: TransformErrorCode,
    message: string,
    options: { field?: string } = {},
  ) {
    super(message);
    this.name = 'TransformError';
    this.destinationType = destinationType;
    this.code = code;
    this.field = options.field;
  }
}
