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

/** Any thrown value as a ReconcileError; Kubernetes API errors keep their HTTP status and Status reason. */
export function toReconcileError(err: unknown, what: string): ReconcileError {
  if (err instanceof ReconcileError) return err;
  const api = err as { code?: unknown; body?: unknown };
  if (typeof api.code === 'number') {
    const status = statusOf(api.body);
    const detail = [status.reason, status.message].filter(Boolean).join(': ');
    return new ReconcileError(
      'ApiError',
      `${what}: Kubernetes API answered ${api.code}${detail ? ` (${detail})` : ''}`,
      {
        cause: err,
      },
    );
  }
  return new ReconcileError('InternalError', `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

function statusOf(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return {};
    }
  }
  const s = value as { reason?: unknown; message?: unknown } | null;
  return {
    ...(typeof s?.reason === 'string' ? { reason: s.reason } : {}),
    ...(typeof s?.message === 'string' ? { message: s.message.slice(0, 500) } : {}),
  };
}
