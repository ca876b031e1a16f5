import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { RudderError } from '@rudder/common';
import { decodeBody, parseJson } from './body.ts';

const LIMIT = 1024 * 1024;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof RudderError ? err.code : 'not a RudderError';
  }
  return 'resolved';
}

describe('decodeBody', () => {
  it('passes plain UTF-8 through and reports its size', async () => {
    await expect(decodeBody(Buffer.from('{"a":"ü"}'), undefined, LIMIT)).resolves.toEqual({
      text: '{"a":"ü"}',
      bytes: 10,
    });
    await expect(decodeBody(Buffer.from('{}'), 'identity', LIMIT)).resolves.toEqual({ text: '{}', bytes: 2 });
  });

  it('treats a missing body as empty text', async () => {
    await expect(decodeBody(undefined, undefined, LIMIT)).resolves.toEqual({ text: '', bytes: 0 });
  });

  it('inflates gzip, deflate and brotli, whatever the header case', async () => {
    const text = JSON.stringify({ batch: [{ userId: 'u' }] });
    await expect(decodeBody(gzipSync(text), 'GZIP', LIMIT)).resolves.toMatchObject({ text });
    await expect(decodeBody(gzipSync(text), 'x-gzip', LIMIT)).resolves.toMatchObject({ text });
    await expect(decodeBody(deflateSync(text), 'deflate', LIMIT)).resolves.toMatchObject({ text });
    await expect(decodeBody(brotliCompressSync(text), 'br', LIMIT)).resolves.toMatchObject({ text });
  });

  it('refuses a zip bomb with 413 once the inflated size passes the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * LIMIT, 0x20));
    expect(bomb.length).toBeLessThan(LIMIT);
    await expect(codeOf(decodeBody(bomb, 'gzip', LIMIT))).resolves.toBe('payload_too_large');
  });

  it('accepts a body that inflates to exactly the cap', async () => {
    await expect(decodeBody(gzipSync(Buffer.alloc(LIMIT, 0x20)), 'gzip', LIMIT)).resolves.toMatchObject({
      bytes: LIMIT,
    });
  });

  it('refuses truncated or fake compressed data and unknown encodings with 400', async () => {
    await expect(codeOf(decodeBody(gzipSync('{"a":1}').subarray(0, 12), 'gzip', LIMIT))).resolves.toBe(
      'invalid_request',
    );
    await expect(codeOf(decodeBody(Buffer.from('{"a":1}'), 'gzip', LIMIT))).resolves.toBe('invalid_request');
    await expect(codeOf(decodeBody(Buffer.from('{"a":1}'), 'compress', LIMIT))).resolves.toBe(
      'invalid_request',
    );
  });

  it('refuses bytes that are not UTF-8, before or after inflating', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    await expect(codeOf(decodeBody(bad, undefined, LIMIT))).resolves.toBe('invalid_json');
    await expect(codeOf(decodeBody(gzipSync(bad), 'gzip', LIMIT))).resolves.toBe('invalid_json');
  });
});

describe('parseJson', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
      return 'parsed';
    } catch (err) {
      return err instanceof RudderError ? err.code : 'not a RudderError';
    }
  };

  it('parses JSON and skips a byte order mark', () => {
    expect(parseJson('{"a":[1,{"b":null}]}', 8)).toEqual({ a: [1, { b: null }] });
    expect(parseJson('\ufeff{"a":1}', 8)).toEqual({ a: 1 });
  });

  it('refuses empty text and syntax errors as invalid_json', () => {
    expect(code(() => parseJson('', 8))).toBe('invalid_json');
    expect(code(() => parseJson('{"a":', 8))).toBe('invalid_json');
    expect(code(() => parseJson("{'a':1}", 8))).toBe('invalid_json');
  });

  it('refuses nesting past the limit before parsing', () => {
    expect(code(() => parseJson('[[[[1]]]]', 3))).toBe('invalid_json');
    expect(parseJson('[[[1]]]', 3)).toEqual([[[1]]]);
  });

  it('refuses __proto__ (plain or escaped) and constructor.prototype keys', () => {
    expect(code(() => parseJson('{"a":{"__proto__":{"x":1}}}', 8))).toBe('invalid_json');
    expect(code(() => parseJson('{"a":{"\\u005f\\u005fproto__":{"x":1}}}', 8))).toBe('invalid_json');
    expect(code(() => parseJson('{"constructor":{"prototype":{"x":1}}}', 8))).toBe('invalid_json');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('allows a plain "constructor" property, which is ordinary event data', () => {
    expect(parseJson('{"properties":{"constructor":"Acme"}}', 8)).toEqual({
      properties: { constructor: 'Acme' },
    });
  });
});
