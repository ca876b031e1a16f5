import { gzipSync } from 'node:zlib';
import type { ErrorCode } from '@rudder/common';
import type { GatewayLimits } from './types.ts';

/**
 * Bad (and awkward but valid) requests for the ingestion API, as data, so the
 * same corpus drives the in-process HTTP tests and tests against the real jobs
 * database. Register {@link CORPUS_WRITE_KEY} as an enabled source and
 * {@link CORPUS_DISABLED_WRITE_KEY} as a disabled one, serve with
 * {@link CORPUS_LIMITS} (or pass yours), and for each bad case assert the
 * status, the `{ error: { code } }` body, and that nothing was stored.
 */
export interface CorpusCase {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
  expectStatus: number;
  expectCode: ErrorCode;
}

/** A valid request that stresses storage (odd Unicode, encodings); expect `200` and `expectEvents` stored. */
export interface EdgeCase extends Omit<CorpusCase, 'expectCode'> {
  expectEvents: number;
}

export const CORPUS_WRITE_KEY = 'corpus-enabled-write-key';
export const CORPUS_DISABLED_WRITE_KEY = 'corpus-disabled-write-key';
/** The data plane's default limits, which the corpus sizes its cases against by default. */
export const CORPUS_LIMITS: GatewayLimits = {
  maxRequestBytes: 4 * 1024 * 1024,
  maxEventBytes: 32 * 1024,
  maxBatchEvents: 2000,
  maxJsonDepth: 64,
};

interface CorpusOptions {
  writeKey?: string;
  disabledWriteKey?: string;
  limits?: GatewayLimits;
}

/** Basic auth header value for a write key (empty password). */
export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}

/**
 * The bad-input corpus. Built on demand (some cases are megabytes) rather than
 * at import, so importing the gateway never pays for it.
 */
export function buildBadInputCorpus(options: CorpusOptions = {}): CorpusCase[] {
  const limits = options.limits ?? CORPUS_LIMITS;
  const key = options.writeKey ?? CORPUS_WRITE_KEY;
  const json = { authorization: basicAuth(key), 'content-type': 'application/json' };
  const gzipJson = { ...json, 'content-encoding': 'gzip' };
  const track = (
    body: Buffer | string,
    name: string,
    expectStatus: number,
    expectCode: ErrorCode,
    headers: Record<string, string> = json,
  ): CorpusCase => ({ name, method: 'POST', path: '/v1/track', headers, body, expectStatus, expectCode });
  const batch = (
    body: Buffer | string,
    name: string,
    expectStatus: number,
    expectCode: ErrorCode,
    headers: Record<string, string> = json,
  ): CorpusCase => ({ name, method: 'POST', path: '/v1/batch', headers, body, expectStatus, expectCode });
  const ev = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: 'track',
    event: 'E',
    userId: 'u1',
    ...extra,
  });
  const batchOf = (...events: unknown[]): string => JSON.stringify({ batch: events });
  const valid = JSON.stringify(ev());

  return [
    // Body encoding and JSON syntax
    track('{"userId":"u1","event":', 'truncated JSON', 400, 'invalid_json'),
    track('hello', 'not JSON at all', 400, 'invalid_json'),
    track('', 'empty body', 400, 'invalid_json'),
    track(
      Buffer.from([0x7b, 0x22, 0x75, 0x73, 0x65, 0x72, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      'invalid UTF-8 bytes',
      400,
      'invalid_json',
    ),
    track(
      Buffer.from('{"userId":"\xed\xa0\x80"}', 'latin1'),
      'UTF-8 encoded surrogate (CESU)',
      400,
      'invalid_json',
    ),
    track(
      `{"userId":"u1","properties":{"a":${'['.repeat(limits.maxJsonDepth + 10)}${']'.repeat(limits.maxJsonDepth + 10)}}}`,
      'JSON nested past the depth limit',
      400,
      'invalid_json',
    ),
    batch(`{"batch":${'['.repeat(500_000)}`, 'half a megabyte of opening brackets', 400, 'invalid_json'),
    track(
      '{"userId":"u1","properties":{"__proto__":{"polluted":true}}}',
      '__proto__ key',
      400,
      'invalid_json',
    ),
    track(
      '{"userId":"u1","properties":{"\\u005f_proto__":{"polluted":true}}}',
      'unicode-escaped __proto__ key',
      400,
      'invalid_json',
    ),
    track(
      '{"userId":"u1","context":{"constructor":{"prototype":{"polluted":true}}}}',
      'constructor.prototype keys',
      400,
      'invalid_json',
    ),
    // Content-Encoding
    track(gzipSync(valid).subarray(0, 20), 'truncated gzip', 400, 'invalid_request', gzipJson),
    track(valid, 'gzip header on a plain body', 400, 'invalid_request', gzipJson),
    track(valid, 'unsupported Content-Encoding', 400, 'invalid_request', {
      ...json,
      'content-encoding': 'compress',
    }),
    batch(
      gzipSync(Buffer.alloc(limits.maxRequestBytes * 2, 0x20)),
      'gzip bomb (inflates past the request limit)',
      413,
      'payload_too_large',
      gzipJson,
    ),
    // Sizes
    batch(
      batchOf(ev({ properties: { pad: 'x'.repeat(limits.maxRequestBytes) } })),
      'body over the request limit',
      413,
      'payload_too_large',
    ),
    track(
      JSON.stringify(ev({ properties: { pad: 'x'.repeat(limits.maxEventBytes) } })),
      'single event over the event limit',
      413,
      'payload_too_large',
    ),
    batch(
      batchOf(ev(), ev({ properties: { pad: 'x'.repeat(limits.maxEventBytes) } })),
      'batch event over the event limit',
      413,
      'payload_too_large',
    ),
    batch(
      batchOf(ev({ properties: { pad: 'é'.repeat(Math.ceil(limits.maxEventBytes / 2)) } })),
      'event over the limit only in UTF-8 bytes',
      413,
      'payload_too_large',
    ),
    batch(
      batchOf(...Array.from({ length: limits.maxBatchEvents + 1 }, () => ev())),
      'one event more than the batch limit',
      400,
      'invalid_request',
    ),
    // Shape
    batch('{"batch":[]}', 'empty batch', 400, 'invalid_request'),
    batch('{"batch":{"type":"track"}}', 'batch that is not an array', 400, 'invalid_request'),
    batch('[]', 'batch body that is an array', 400, 'invalid_request'),
    batch(
      JSON.stringify({ batch: [ev()], context: 'web' }),
      'batch context that is not an object',
      400,
      'invalid_request',
    ),
    track('[{"userId":"u1"}]', 'single event body that is an array', 400, 'invalid_request'),
    track('null', 'single event body that is null', 400, 'invalid_request'),
    batch(batchOf(ev(), 42), 'batch element that is not an object', 400, 'invalid_event'),
    batch(batchOf(ev(), ev({ type: 'purchase' })), 'unknown type', 400, 'invalid_event'),
    batch(
      batchOf(ev(), { type: 'track', event: 'E' }),
      'event without userId or anonymousId',
      400,
      'invalid_event',
    ),
    track(
      JSON.stringify({ event: 'E', userId: '', anonymousId: null }),
      'event with empty ids',
      400,
      'invalid_event',
    ),
    track(
      JSON.stringify(ev({ properties: 'cheap' })),
      'properties that are not an object',
      400,
      'invalid_event',
    ),
    track(JSON.stringify(ev({ userId: 'a\u0000b' })), 'userId with a NUL character', 400, 'invalid_event'),
    track(
      JSON.stringify(ev({ messageId: 'm'.repeat(600) })),
      'messageId too long for an index',
      400,
      'invalid_event',
    ),
    // Authentication
    {
      ...track(valid, 'no write key at all', 401, 'unauthorized'),
      headers: { 'content-type': 'application/json' },
    },
    track(valid, 'unknown write key', 401, 'unauthorized', {
      ...json,
      authorization: basicAuth('no-such-write-key'),
    }),
    track(valid, 'Basic auth without a username', 401, 'unauthorized', {
      ...json,
      authorization: basicAuth(''),
    }),
    track(valid, 'disabled source', 404, 'source_disabled', {
      ...json,
      authorization: basicAuth(options.disabledWriteKey ?? CORPUS_DISABLED_WRITE_KEY),
    }),
    {
      ...batch(
        JSON.stringify({ batch: [ev()], writeKey: 'no-such-write-key' }),
        'unknown write key in the batch body',
        401,
        'unauthorized',
      ),
      headers: { 'content-type': 'application/json' },
    },
    {
      name: 'beacon without writeKey',
      method: 'POST',
      path: '/beacon/v1/batch',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: batchOf(ev()),
      expectStatus: 401,
      expectCode: 'unauthorized',
    },
  ];
}

/** Valid requests whose events must be stored intact (Unicode that Postgres text columns would refuse lives only in the event JSON). */
export function validEdgeCases(options: CorpusOptions = {}): EdgeCase[] {
  const key = options.writeKey ?? CORPUS_WRITE_KEY;
  const json = { authorization: basicAuth(key), 'content-type': 'application/json' };
  const ok = (
    name: string,
    path: string,
    body: Buffer | string,
    expectEvents: number,
    headers: Record<string, string> = json,
  ): EdgeCase => ({ name, method: 'POST', path, headers, body, expectStatus: 200, expectEvents });
  const ev = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: 'track',
    event: 'E',
    userId: 'u1',
    ...extra,
  });
  return [
    ok('NUL inside a property string', '/v1/track', JSON.stringify(ev({ properties: { s: 'a\u0000b' } })), 1),
    ok(
      'lone surrogate escape inside a property',
      '/v1/track',
      '{"userId":"u1","event":"E","properties":{"s":"\\ud800x"}}',
      1,
    ),
    ok(
      'emoji, RTL text and U+2028',
      '/v1/track',
      JSON.stringify(ev({ userId: 'üser-😀', properties: { s: 'שלום\u2028😀' } })),
      1,
    ),
    ok('UTF-8 byte order mark', '/v1/track', `\ufeff${JSON.stringify(ev())}`, 1),
    ok('numeric userId', '/v1/identify', JSON.stringify({ userId: 12345, traits: { plan: 'pro' } }), 1),
    ok('gzip batch', '/v1/batch', gzipSync(JSON.stringify({ batch: [ev(), ev({ userId: 'u2' })] })), 2, {
      ...json,
      'content-encoding': 'gzip',
    }),
    ok('write key in the batch body only', '/v1/batch', JSON.stringify({ writeKey: key, batch: [ev()] }), 1, {
      'content-type': 'application/json',
    }),
    ok(
      'beacon text/plain batch',
      `/beacon/v1/batch?writeKey=${encodeURIComponent(key)}`,
      JSON.stringify({ batch: [ev()] }),
      1,
      { 'content-type': 'text/plain;charset=UTF-8' },
    ),
  ];
}
