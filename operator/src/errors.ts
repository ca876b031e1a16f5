import { describeKubeApiError } from '@rudder/common';

/**
 * A reconcile that could not finish, with the reason shown on the instance's
 * Degraded condition and in its Warning event. The message must be safe to
 * show: it never quotes a Secret's contents.
 */
export class ReconcileError extends Error {
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileError';
    this.reason = reason;
  }
}

/**
 * Any thrown value as a ReconcileError; Kubernetes API errors keep their HTTP
 * status and Status reason, and their message unless `secret` says it may
 * quote a Secret's contents.
 */
export function toReconcileError(err: unknown, what: string, secret = false): ReconcileError {
  if (err instanceof ReconcileError) return err;
  const api = describeKubeApiError(what, err, !secret);
  if (api !== undefined) return new ReconcileError('ApiError', api, { cause: err });
  return new ReconcileError('InternalError', `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}
