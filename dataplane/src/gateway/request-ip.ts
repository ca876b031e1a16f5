import { isIP } from 'node:net';

/**
 * The client IP stored as `request_ip` on every event.
 *
 * With `trustForwardedFor` (the default, for pods behind a Kubernetes ingress
 * or load balancer, where the socket peer is the proxy), it is the first hop of
 * `X-Forwarded-For`, which is what RudderStack and Segment record. That value
 * is client-controlled when the gateway is reachable without a proxy, so turn
 * the flag off there. Either way `request_ip` is informational (geo lookup in
 * destinations); nothing authenticates or rate-limits on it. A first hop that
 * is not an IP address (garbage, `unknown`) falls back to the socket address.
 */
export function requestIp(
  forwardedFor: string | string[] | undefined,
  socketAddress: string | undefined,
  trustForwardedFor: boolean,
): string {
  if (trustForwardedFor && forwardedFor !== undefined) {
    // Repeated headers arrive as an array in Node; the first one is the first hop.
    const header = Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor;
    if (header !== undefined) {
      const comma = header.indexOf(',');
      const first = normalizeIp(comma < 0 ? header : header.slice(0, comma));
      if (first !== undefined) return first;
    }
  }
  return (socketAddress !== undefined ? normalizeIp(socketAddress) : undefined) ?? '';
}

/**
 * An IP literal without port, brackets or IPv4-mapped IPv6 prefix, or
 * `undefined` when `value` is not an IP (some proxies append `:port`).
 */
export function normalizeIp(value: string): string | undefined {
  let ip = value.trim();
  if (ip.startsWith('[')) {
    const close = ip.indexOf(']');
    if (close < 0) return undefined;
    ip = ip.slice(1, close);
  } else if (ip.indexOf(':') === ip.lastIndexOf(':') && ip.includes(':')) {
    // Exactly one colon: IPv4 with a port (an IPv6 literal has at least two).
    ip = ip.slice(0, ip.indexOf(':'));
  }
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  return isIP(ip) === 0 ? undefined : ip;
}
