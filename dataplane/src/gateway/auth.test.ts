import { RudderError } from '@rudder/common';
import { authenticate, writeKeyFromAuthorization } from './auth.ts';
import { staticSources } from './testing.ts';

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('writeKeyFromAuthorization', () => {
  it('reads the Basic username, with or without the colon, ignoring any password', () => {
    expect(writeKeyFromAuthorization(basic('wk-123:'))).toBe('wk-123');
    expect(writeKeyFromAuthorization(basic('wk-123'))).toBe('wk-123');
    expect(writeKeyFromAuthorization(basic('wk-123:secret'))).toBe('wk-123');
    expect(writeKeyFromAuthorization(`basic ${Buffer.from('wk:').toString('base64')}`)).toBe('wk');
  });

  it('leaves other schemes and missing headers to the body or query key', () => {
    expect(writeKeyFromAuthorization(undefined)).toBeUndefined();
    expect(writeKeyFromAuthorization('Bearer token')).toBeUndefined();
  });

  it('refuses a Basic header without a username', () => {
    expect(() => writeKeyFromAuthorization(basic(':'))).toThrow(RudderError);
    expect(() => writeKeyFromAuthorization('Basic ')).toThrow(RudderError);
  });
});

describe('authenticate', () => {
  const sources = staticSources([
    { id: 'on', writeKey: 'enabled-key' },
    { id: 'off', writeKey: 'disabled-key', enabled: false },
  ]);
  const code = (key: string | undefined): string => {
    try {
      return authenticate(sources, key).source.id;
    } catch (err) {
      return (err as RudderError).code;
    }
  };

  it('finds enabled sources, 401s unknown or missing keys and 404s disabled sources', () => {
    expect(code('enabled-key')).toBe('on');
    expect(code('nope')).toBe('unauthorized');
    expect(code(undefined)).toBe('unauthorized');
    expect(code('')).toBe('unauthorized');
    expect(code('disabled-key')).toBe('source_disabled');
  });
});
