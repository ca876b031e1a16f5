import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, type ZlibOptions } from 'node:zlib';
import sjson from 'secure-json-parse';
import { RudderError } from '@rudder/common';
import { exceedsJsonDepth } from './json-depth.ts';

const decoders: Record<string, (buf: Buffer, options: ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/** A request body ready for parsing. */
export interface DecodedBody {
  text: string;
  /** Size in bytes after decompression. */
  bytes: number;
}

/**
 * Turns the bytes on the wire into JSON text: undoes `Content-Encoding`
 * (gzip, x-gzip, deflate, br; the RudderStack Node SDK gzips), then checks the
 * result is UTF-8. The decompressed size is capped at `maxBytes` while
 * inflating (zlib's `maxOutputLength` stops early), so a zip bomb costs at most
 * that much memory before it is refused with 413.
 */
export async function decodeBody(
  raw: Buffer | undefined,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<DecodedBody> {
  let bytes = raw ?? EMPTY;
  const encoding = contentEncoding?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    const decode = decoders[encoding];
    if (decode === undefined) {
      throw new RudderError(
        'invalid_request',
        `unsupported Content-Encoding "${encoding}" (use gzip or none)`,
      );
    }
    bytes = await decompress(decode, bytes, encoding, maxBytes);
  }
  if (!isUtf8(bytes)) throw new RudderError('invalid_json', 'request body is not valid UTF-8');
  return { text: bytes.toString('utf8'), bytes: bytes.length };
}

async function decompress(
  decode: (buf: Buffer, options: ZlibOptions) => Promise<Buffer>,
  bytes: Buffer,
  encoding: string,
  maxBytes: number,
): Promise<Buffer> {
  try {
    return await decode(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RudderError('payload_too_large', `decompressed request body exceeds ${maxBytes} bytes`);
    }
    throw new RudderError('invalid_request', `request body is not valid ${encoding} data`, { cause: err });
  }
}

const EMPTY = Buffer.alloc(0);
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * Parses request JSON safely: refuses nesting deeper than `maxDepth` before
 * parsing (see {@link exceedsJsonDepth}), and `__proto__` or
 * `constructor.prototype` keys (secure-json-parse), which would otherwise
 * poison objects built from the event by later stages.
 */
export function parseJson(text: string, maxDepth: number): unknown {
  if (text.length === 0) throw new RudderError('invalid_json', 'request body is empty');
  if (exceedsJsonDepth(text, maxDepth)) {
    throw new RudderError('invalid_json', `JSON nests deeper than ${maxDepth} levels`);
  }
  try {
    return sjson.parse(text, null, PARSE_OPTIONS);
  } catch (err) {
    if (err instanceof SyntaxError && err.message.includes('forbidden prototype property')) {
      throw new RudderError(
        'invalid_json',
        'JSON contains a forbidden __proto__ or constructor.prototype key',
      );
    }
    throw new RudderError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}
