/**
 * Messages for errors from the Kubernetes API (client-node's ApiException:
 * a numeric `code` and the response body, a `Status` object). Shared by the
 * control plane and the operator, which both show such errors to users.
 */

/** The `reason` and `message` of a Kubernetes Status body (a string or parsed JSON). */
export function kubeStatusOf(body: unknown): { reason?: string; message?: string } {
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

/**
 * `<what>: Kubernetes API answered <code> (<reason>: <message>)` for an API
 * error, undefined for anything else. `withMessage: false` leaves the
 * server's message out: about a Secret, it may quote the Secret's contents.
 */
export function describeKubeApiError(what: string, err: unknown, withMessage: boolean): string | undefined {
  const api = err as { code?: unknown; body?: unknown } | null;
  if (typeof api?.code !== 'number') return undefined;
  const status = kubeStatusOf(api.body);
  const detail = [status.reason, withMessage ? status.message : undefined].filter(Boolean).join(': ');
  return `${what}: Kubernetes API answered ${api.code}${detail ? ` (${detail})` : ''}`;
}
