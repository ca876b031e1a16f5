import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { RudderError } from '@rudder/common';

/**
 * Opaque tokens carry a prefix naming their kind (so a leaked one is easy to
 * recognize and scan for) and 256 random bits. Only their SHA-256 is stored:
 * with that much entropy a slow hash adds nothing.
 */
export const TOKEN_PREFIX = {
  api: 'rdr_api_',
  dataplane: 'rdr_dp_',
  refresh: 'rdr_rt_',
} as const;

export type OpaqueTokenKind = keyof typeof TOKEN_PREFIX;

export function newOpaqueToken(kind: OpaqueTokenKind): { token: string; hash: Buffer } {
  const token = TOKEN_PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The kind of an opaque token by its prefix, or undefined (a JWT or garbage). */
export function opaqueKindOf(token: string): OpaqueTokenKind | undefined {
  for (const [kind, prefix] of Object.entries(TOKEN_PREFIX))
    if (token.startsWith(prefix)) return kind as OpaqueTokenKind;
  return undefined;
}

const ISSUER = 'rudder-controlplane';
const AUDIENCE = 'rudder-api';

export interface AccessClaims {
  sub: string;
  email: string;
}

/** Signs and verifies short-lived access tokens (JWT, HS256 only). */
export class AccessTokens {
  private readonly secret: string;
  readonly ttlSeconds: number;

  constructor(options: { secret: string; ttlSeconds: number }) {
    this.secret = options.secret;
    this.ttlSeconds = options.ttlSeconds;
  }

  sign(claims: AccessClaims): string {
    return jwt.sign({ email: claims.email, typ: 'access' }, this.secret, {
      algorithm: 'HS256',
      subject: claims.sub,
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: this.ttlSeconds,
    });
  }

  /** The claims of a valid token; throws `unauthorized` for expired, tampered or foreign tokens. */
  verify(token: string): AccessClaims {
    let payload: string | jwt.JwtPayload;
    try {
      // Pinning the algorithm refuses `alg: none` and key-confusion tokens.
      payload = jwt.verify(token, this.secret, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
    } catch (err) {
      const expired = err instanceof jwt.TokenExpiredError;
      throw new RudderError('unauthorized', expired ? 'access token expired' : 'invalid access token');
    }
    if (
      typeof payload === 'string' ||
      payload['typ'] !== 'access' ||
      typeof payload.sub !== 'string' ||
      typeof payload['email'] !== 'string'
    )
      throw new RudderError('unauthorized', 'invalid access token');
    return { sub: payload.sub, email: payload['email'] };
  }
}
