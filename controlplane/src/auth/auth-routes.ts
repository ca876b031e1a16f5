import { z } from 'zod';
import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import type { AppDeps } from '../http/deps.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './passwords.ts';
import { roleSchema, type Principal } from './principal.ts';
import {
  issueRefreshToken,
  revokeAllOfUser,
  revokeFamilyOfToken,
  rotateRefreshToken,
} from './refresh-tokens.ts';
import { createUser, findUserForLogin, getUser, listUserTenants, type User } from './users.ts';

/** Emails are compared trimmed and lower-cased, the form the users table insists on. */
const email = z.string().trim().toLowerCase().max(254).check(z.email());
/** The upper bound keeps argon2 work per request bounded. */
const password = z.string().min(12).max(256);
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

const userSchema = z.object({ id: z.string(), email: z.string(), name: z.string() });
const sessionSchema = z.object({
  user: userSchema,
  accessToken: z.string().describe('JWT for the Authorization header; short-lived'),
  refreshToken: z.string().describe('single use: trade it at /v1/auth/refresh for a new pair'),
  expiresIn: z.number().int().describe('seconds until the access token expires'),
});
type Session = z.infer<typeof sessionSchema>;

const meSchema = userSchema.extend({
  tenants: z.array(z.object({ tenantId: z.string(), name: z.string(), role: roleSchema })),
});

const INVALID_LOGIN = 'invalid email or password';
const INVALID_REFRESH = 'invalid or expired refresh token';

function sessionOf(deps: AppDeps, user: User, refreshToken: string): Session {
  return {
    user,
    accessToken: deps.accessTokens.sign({ sub: user.id, email: user.email }),
    refreshToken,
    expiresIn: deps.accessTokens.ttlSeconds,
  };
}

/** A session for a user who just proved who they are: a new refresh-token family. */
async function startSession(q: Queryable, deps: AppDeps, user: User): Promise<Session> {
  const refresh = await issueRefreshToken(q, {
    userId: user.id,
    ttlSeconds: deps.config.auth.refreshTokenTtlSeconds,
  });
  return sessionOf(deps, user, refresh.token);
}

/** Account routes act on a person: API tokens belong to a tenant, not to anyone's account. */
function userOf(principal: Principal | undefined): { userId: string } {
  if (principal?.kind !== 'user')
    throw new RudderError('forbidden', "this route needs a user's access token, not an API token");
  return principal;
}

/** Signup, login, refresh, logout and the caller's profile. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/auth/signup',
    summary: 'Create an account and start a session',
    tag: 'auth',
    auth: 'none',
    body: z.strictObject({ email, password, name: z.string().trim().max(200).optional() }),
    responses: {
      201: { description: 'account created; a session for it', schema: sessionSchema },
      400: { description: 'invalid email, or password outside 12..256 characters' },
      409: { description: 'an account with this email exists' },
    },
    handler: async ({ body, deps, log }) => {
      // Hashed before the transaction: argon2 takes a while and should not hold a connection.
      const passwordHash = await hashPassword(body.password);
      const session = await deps.db.tx(async (tx) => {
        const user = await createUser(tx, { email: body.email, name: body.name ?? '', passwordHash });
        return startSession(tx, deps, user);
      });
      log.info({ userId: session.user.id }, 'user signed up');
      return { status: 201, body: session };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/auth/login',
    summary: 'Start a session with email and password',
    tag: 'auth',
    auth: 'none',
    body: z.strictObject({
      email: z.string().trim().toLowerCase().min(1).max(254),
      password: z.string().max(256),
    }),
    responses: {
      200: { description: 'a new session', schema: sessionSchema },
      401: { description: 'invalid email or password (the same answer for both)' },
      429: { description: 'too many failed logins for this email or address; see Retry-After' },
    },
    handler: async ({ body, deps, req, log }) => {
      const address = req.ip ?? 'unknown';
      await deps.loginLimiter.check(body.email, address);
      const found = await findUserForLogin(deps.db.pool, body.email);
      // Unknown emails are checked against a dummy hash, so they take as long as a wrong password.
      const matches = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH);
      if (!found || !matches) {
        await deps.loginLimiter.recordFailure(body.email, address);
        // No email in the line: people type passwords into the email field.
        log.info({ userId: found?.id }, 'login failed');
        throw new RudderError('unauthorized', INVALID_LOGIN);
      }
      await deps.loginLimiter.recordSuccess(body.email);
      const user: User = { id: found.id, email: found.email, name: found.name };
      const session = await startSession(deps.db.pool, deps, user);
      log.info({ userId: user.id }, 'user logged in');
      return { body: session };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/auth/refresh',
    summary: 'Trade a refresh token for a new access and refresh token',
    tag: 'auth',
    auth: 'none',
    body: refreshBody,
    responses: {
      200: { description: 'the session continues with a new pair', schema: sessionSchema },
      401: { description: 'unknown, expired, revoked or already used (which revokes its whole session)' },
    },
    handler: async ({ body, deps, log }) => {
      const rotated = await deps.db.tx((tx) =>
        rotateRefreshToken(tx, body.refreshToken, deps.config.auth.refreshTokenTtlSeconds),
      );
      switch (rotated.outcome) {
        case 'rotated': {
          const user = await getUser(deps.db.pool, rotated.userId);
          if (!user) throw new RudderError('unauthorized', INVALID_REFRESH);
          return { body: sessionOf(deps, user, rotated.issued.token) };
        }
        case 'reused':
          log.warn(
            { userId: rotated.userId, familyId: rotated.familyId },
            'spent refresh token presented again; its session is revoked',
          );
          throw new RudderError('unauthorized', INVALID_REFRESH);
        case 'invalid':
          throw new RudderError('unauthorized', INVALID_REFRESH);
      }
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/auth/logout',
    summary: 'End the session a refresh token belongs to (every token of its family); idempotent',
    tag: 'auth',
    auth: 'none',
    body: refreshBody,
    responses: { 204: { description: 'the session is over (or there was none)' } },
    handler: async ({ body, deps }) => {
      await revokeFamilyOfToken(deps.db.pool, body.refreshToken);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/auth/logout-all',
    summary: "End every session of the caller's account; access tokens lapse within their short lifetime",
    tag: 'auth',
    auth: 'user',
    responses: {
      204: { description: 'every refresh token of the account is revoked' },
      403: { description: 'called with an API token' },
    },
    handler: async ({ principal, deps, log }) => {
      const { userId } = userOf(principal);
      const revoked = await revokeAllOfUser(deps.db.pool, userId);
      log.info({ userId, revoked }, 'user logged out everywhere');
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me',
    summary: 'The calling user and their tenants; API tokens get 403 (they act for a tenant, not a person)',
    tag: 'auth',
    auth: 'user',
    responses: {
      200: { description: 'the calling user', schema: meSchema },
      403: { description: 'called with an API token' },
    },
    handler: async ({ principal, deps }) => {
      const { userId } = userOf(principal);
      const user = await getUser(deps.db.pool, userId);
      // A valid access token can outlive its account by a few minutes.
      if (!user) throw new RudderError('unauthorized', 'this account no longer exists');
      return { body: { ...user, tenants: await listUserTenants(deps.db.pool, userId) } };
    },
  }),
];
