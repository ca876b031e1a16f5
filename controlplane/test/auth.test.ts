import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { hashToken } from '../src/auth/tokens.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

const ISSUER = 'rudder-controlplane';
const AUDIENCE = 'rudder-api';
const MAX_FAILURES = 3;

let t: TestControlPlane;
beforeAll(async () => {
  t = await startTestControlPlane({ LOGIN_MAX_FAILURES: String(MAX_FAILURES) });
});
afterAll(async () => {
  await t.stop();
});

let lastAddress = 0;
/**
 * Every request comes from 127.0.0.1, a trusted proxy, so X-Forwarded-For sets
 * the address the login limiter sees; each test takes fresh ones.
 */
function newAddress(): string {
  lastAddress += 1;
  return `198.51.100.${lastAddress}`;
}

const newEmail = () => `user-${randomBytes(6).toString('hex')}@example.test`;
const newPassword = () => `correct horse ${randomBytes(6).toString('hex')}`;

function signup(body: Record<string, unknown>) {
  return t.call('post', '/v1/auth/signup', { body });
}
function login(email: string, password: string, address = newAddress()) {
  return t.call('post', '/v1/auth/login', {
    body: { email, password },
    headers: { 'x-forwarded-for': address },
  });
}
function refresh(refreshToken: string) {
  return t.call('post', '/v1/auth/refresh', { body: { refreshToken } });
}
function me(token?: string, headers?: Record<string, string>) {
  return t.call('get', '/v1/me', {
    ...(token === undefined ? {} : { token }),
    ...(headers ? { headers } : {}),
  });
}

describe('sessions', () => {
  test('signs up, reads the profile, logs in, refreshes and logs out', async () => {
    const password = newPassword();
    const up = await signup({ email: '  Ada.Lovelace@Example.TEST ', password, name: 'Ada' });
    expect(up.status).toBe(201);
    expect(up.body).toEqual({
      user: { id: expect.stringMatching(/^usr_/), email: 'ada.lovelace@example.test', name: 'Ada' },
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^rdr_rt_/),
      expiresIn: 900,
    });
    const user: TestUser = { userId: up.body.user.id, email: up.body.user.email, password, token: '' };
    const { tenantId } = await t.createTenant(user);
    expect((await me(up.body.accessToken)).body).toEqual({
      id: user.userId,
      email: 'ada.lovelace@example.test',
      name: 'Ada',
      tenants: [{ tenantId, name: `Tenant ${tenantId}`, role: 'owner' }],
    });

    const inn = await login('ADA.LOVELACE@example.test', password);
    expect(inn.status).toBe(200);
    expect(inn.body.user).toEqual(up.body.user);
    expect(inn.body.refreshToken).not.toBe(up.body.refreshToken);

    const next = await refresh(inn.body.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.user).toEqual(up.body.user);
    expect(next.body.refreshToken).not.toBe(inn.body.refreshToken);
    expect((await me(next.body.accessToken)).status).toBe(200);

    expect(
      (await t.call('post', '/v1/auth/logout', { body: { refreshToken: next.body.refreshToken } })).status,
    ).toBe(204);
    expect((await refresh(next.body.refreshToken)).status).toBe(401);
    // Logging out twice, or with a token that never existed, is not an error.
    expect(
      (await t.call('post', '/v1/auth/logout', { body: { refreshToken: next.body.refreshToken } })).status,
    ).toBe(204);
    // The signup's session is a family of its own and outlives the other's logout.
    expect((await refresh(up.body.refreshToken)).status).toBe(200);
  });

  test('refuses a second account for an email, whatever its case', async () => {
    const email = newEmail();
    expect((await signup({ email, password: newPassword() })).status).toBe(201);
    const again = await signup({ email: ` ${email.toUpperCase()}`, password: newPassword() });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'conflict', details: { field: 'body.email' } });
  });

  test.each([
    [
      'a password under 12 characters',
      { email: 'a@example.test', password: 'x'.repeat(11) },
      'body.password',
    ],
    [
      'a password over 256 characters',
      { email: 'a@example.test', password: 'x'.repeat(257) },
      'body.password',
    ],
    ['an email that is not one', { email: 'not-an-email', password: 'x'.repeat(12) }, 'body.email'],
    ['an unknown field', { email: 'a@example.test', password: 'x'.repeat(12), role: 'owner' }, 'body'],
  ])('refuses a signup with %s, naming the field', async (_, body, field) => {
    const res = await signup(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details.field).toBe(field);
  });

  test('answers a wrong password and an unknown email with the same 401', async () => {
    const user = await t.createUser({ password: newPassword() });
    const wrong = await login(user.email, 'not the password at all');
    const unknown = await login(newEmail(), user.password);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'unauthorized', message: 'invalid email or password' } });
    expect(unknown.body).toEqual(wrong.body);
  });

  test('logout-all ends every session of the account, and only with a user token', async () => {
    const user = await t.createUser();
    const a = await login(user.email, user.password);
    const b = await login(user.email, user.password);
    expect((await t.call('post', '/v1/auth/logout-all', { token: a.body.accessToken })).status).toBe(204);
    expect((await refresh(a.body.refreshToken)).status).toBe(401);
    expect((await refresh(b.body.refreshToken)).status).toBe(401);
  });
});

describe('refresh tokens', () => {
  test('presenting a spent refresh token again revokes its whole family, not other sessions', async () => {
    const user = await t.createUser();
    const first = await login(user.email, user.password);
    const other = await login(user.email, user.password);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);

    const replay = await refresh(first.body.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized');
    // The thief's replay also cuts off the live successor, whoever holds it.
    expect((await refresh(second.body.refreshToken)).status).toBe(401);
    expect((await refresh(other.body.refreshToken)).status).toBe(200);
  });

  test('presenting a revoked refresh token keeps its family revoked', async () => {
    const user = await t.createUser();
    const s = await login(user.email, user.password);
    await t.call('post', '/v1/auth/logout', { body: { refreshToken: s.body.refreshToken } });
    expect((await refresh(s.body.refreshToken)).status).toBe(401);
  });

  test('refuses an expired refresh token', async () => {
    const user = await t.createUser();
    const s = await login(user.email, user.password);
    await t.cp.deps.db.pool.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [hashToken(s.body.refreshToken)],
    );
    expect((await refresh(s.body.refreshToken)).status).toBe(401);
  });

  test('refuses unknown refresh tokens and access tokens offered as refresh tokens', async () => {
    const user = await t.createUser();
    expect((await refresh(`rdr_rt_${randomBytes(32).toString('base64url')}`)).status).toBe(401);
    expect((await refresh(user.token)).status).toBe(401);
  });
});

describe('access tokens', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await t.createUser();
  });

  const sign = (payload: object, secret: string, options: jwt.SignOptions = {}) =>
    jwt.sign(payload, secret, {
      algorithm: 'HS256',
      subject: user.userId,
      issuer: ISSUER,
      audience: AUDIENCE,
      ...options,
    });
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test('accepts a token signed the way login signs them (the fixtures below differ in one thing each)', async () => {
    const token = sign({ email: user.email, typ: 'access' }, t.env['JWT_SECRET']!, { expiresIn: 60 });
    expect((await me(token)).status).toBe(200);
  });

  test.each<[string, () => { token?: string; headers?: Record<string, string> }]>([
    [
      'expired',
      () => ({
        token: sign(
          { email: user.email, typ: 'access', exp: Math.floor(Date.now() / 1000) - 60 },
          t.env['JWT_SECRET']!,
        ),
      }),
    ],
    [
      'tampered (claims another user)',
      () => {
        const [header, payload, signature] = user.token.split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
        return { token: `${header}.${b64({ ...claims, sub: 'usr_someoneelse' })}.${signature}` };
      },
    ],
    [
      'tampered (one payload character flipped)',
      () => {
        const [header, payload, signature] = user.token.split('.');
        const flipped = payload!.slice(0, 5) + (payload![5] === 'A' ? 'B' : 'A') + payload!.slice(6);
        return { token: `${header}.${flipped}.${signature}` };
      },
    ],
    [
      'signed with another secret',
      () => ({
        token: sign({ email: user.email, typ: 'access' }, randomBytes(32).toString('hex'), { expiresIn: 60 }),
      }),
    ],
    [
      'unsigned (alg: none)',
      () => {
        const claims = jwt.decode(user.token) as object;
        return { token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.` };
      },
    ],
    [
      'for another audience',
      () => ({
        token: sign({ email: user.email, typ: 'access' }, t.env['JWT_SECRET']!, {
          expiresIn: 60,
          audience: 'someone-else',
        }),
      }),
    ],
    [
      'not of the access type',
      () => ({ token: sign({ email: user.email, typ: 'refresh' }, t.env['JWT_SECRET']!, { expiresIn: 60 }) }),
    ],
    ['missing', () => ({})],
    ['malformed', () => ({ token: 'not-a-jwt' })],
    ['sent with another scheme', () => ({ headers: { authorization: `Basic ${user.token}` } })],
  ])('refuses an access token that is %s with 401', async (_, make) => {
    const { token, headers } = make();
    const res = await me(token, headers);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  test('refuses a refresh token as a bearer token', async () => {
    const s = await login(user.email, user.password);
    expect((await me(s.body.refreshToken)).status).toBe(401);
  });
});

describe('brute-force protection', () => {
  test(`refuses logins to an email after ${MAX_FAILURES} failures, even with the right password, but not other accounts`, async () => {
    const victim = await t.createUser();
    const bystander = await t.createUser();
    const attacker = newAddress();
    for (let i = 0; i < MAX_FAILURES; i++)
      expect((await login(victim.email, 'wrong guess', attacker)).status).toBe(401);

    // The count is per email: a new address does not help.
    for (const address of [attacker, newAddress()]) {
      const blocked = await login(victim.email, victim.password, address);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('rate_limited');
      const retryAfter = Number(blocked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    expect((await login(bystander.email, bystander.password, newAddress())).status).toBe(200);
  });

  test('counts failures for unknown emails like any other', async () => {
    const email = newEmail();
    for (let i = 0; i < MAX_FAILURES; i++) expect((await login(email, 'guess')).status).toBe(401);
    expect((await login(email, 'guess')).status).toBe(429);
  });

  test(`refuses an address after ${4 * MAX_FAILURES} failures across emails, not the accounts elsewhere`, async () => {
    const address = newAddress();
    for (let e = 0; e < 4; e++) {
      const email = newEmail();
      for (let i = 0; i < MAX_FAILURES; i++) expect((await login(email, 'guess', address)).status).toBe(401);
    }
    const user = await t.createUser();
    expect((await login(user.email, user.password, address)).status).toBe(429);
    expect((await login(user.email, user.password, newAddress())).status).toBe(200);
  });

  test("a successful login clears the email's failures", async () => {
    const user = await t.createUser();
    const address = newAddress();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < MAX_FAILURES - 1; i++)
        expect((await login(user.email, 'guess', address)).status).toBe(401);
      expect((await login(user.email, user.password, address)).status).toBe(200);
    }
  });
});

test('documents a response schema for every auth route that answers with a body', async () => {
  const doc = (await t.call('get', '/openapi.json')).body;
  const ops = ['/v1/auth/signup', '/v1/auth/login', '/v1/auth/refresh', '/v1/me'].map(
    (path) => Object.values(doc.paths[path] as Record<string, any>)[0],
  );
  for (const op of ops) {
    const ok = Object.entries(op.responses as Record<string, any>).filter(([status]) =>
      status.startsWith('2'),
    );
    expect(ok).not.toHaveLength(0);
    for (const [, response] of ok) expect(response.content['application/json'].schema.type).toBe('object');
  }
  expect(Object.keys(doc.paths['/v1/auth/logout'].post.responses)).toContain('204');
});
