import { normalizeIp, requestIp } from './request-ip.ts';

describe('requestIp', () => {
  it('takes the first X-Forwarded-For hop when trusted', () => {
    expect(requestIp('203.0.113.7, 10.0.0.2, 10.0.0.3', '10.0.0.9', true)).toBe('203.0.113.7');
    expect(requestIp(['198.51.100.1', '10.0.0.1'], '10.0.0.9', true)).toBe('198.51.100.1');
  });

  it('uses the socket address when forwarding is not trusted or absent', () => {
    expect(requestIp('203.0.113.7', '10.0.0.9', false)).toBe('10.0.0.9');
    expect(requestIp(undefined, '10.0.0.9', true)).toBe('10.0.0.9');
  });

  it('falls back to the socket when the first hop is not an IP', () => {
    expect(requestIp('unknown, 203.0.113.7', '10.0.0.9', true)).toBe('10.0.0.9');
    expect(requestIp('<script>', '10.0.0.9', true)).toBe('10.0.0.9');
    expect(requestIp('', '10.0.0.9', true)).toBe('10.0.0.9');
  });

  it('answers an empty string when nothing is known', () => {
    expect(requestIp(undefined, undefined, true)).toBe('');
  });
});

describe('normalizeIp', () => {
  it('strips ports, brackets and the IPv4-mapped prefix', () => {
    expect(normalizeIp(' 203.0.113.7:5123 ')).toBe('203.0.113.7');
    expect(normalizeIp('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('::1')).toBe('::1');
  });

  it('refuses what is not an IP', () => {
    expect(normalizeIp('example.com')).toBeUndefined();
    expect(normalizeIp('[::1')).toBeUndefined();
    expect(normalizeIp('1.2.3.4.5')).toBeUndefined();
  });
});
