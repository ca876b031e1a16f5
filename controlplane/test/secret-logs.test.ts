import { randomBytes, randomUUID } from 'node:crypto';
import { waitFor } from '@rudder/devkit';
import { hashToken, opaqueKindOf, TOKEN_PREFIX } from '../src/auth/tokens.ts';
import { newWriteKey } from '../src/ids.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

let t: TestControlPlane;
beforeAll(async () => {
  t = await startTestControlPlane({ LOG_LEVEL: 'trace' });
});
afterAll(async () => {
  await t.stop();
});

/** What a secret must not appear as: itself, its random part, and its stored hash. */
function formsOf(secret: string): string[] {
  const kind = opaqueKindOf(secret);
  const forms = [secret, hashToken(secret).toString('hex'), hashToken(secret).toString('base64')];
  if (kind !== undefined) forms.push(secret.slice(TOKEN_PREFIX[kind].length));
  // A JWT's signature is the part that makes it usable.
  else if (secret.split('.').length === 3) forms.push(secret.split('.')[2]!);
  return forms;
}

test('no password, token or write key reaches the logs, at trace level, through successes and failures', async () => {
  const secrets: string[] = [];
  const keep = (s: string): string => {
    secrets.push(s);
    return s;
  };
  const expectStatus = async (status: number, res: Promise<{ status: number }>) =>
    expect((await res).status).toBe(status);

  // Accounts and sessions, with failed logins and a replayed refresh token.
  const email = `secret-${randomBytes(4).toString('hex')}@example.test`;
  const password = keep(`pw-${randomBytes(12).toString('hex')}`);
  const up = await t.call('post', '/v1/auth/signup', { body: { email, password, name: 'S' } });
  expect(up.status).toBe(201);
  keep(up.body.accessToken);
  keep(up.body.refreshToken);
  await expectStatus(
    400,
    t.call('post', '/v1/auth/signup', { body: { email, password: keep('x'.repeat(300)) } }),
  );
  await expectStatus(
    401,
    t.call('post', '/v1/auth/login', {
      body: { email, password: keep(`wrong-${randomBytes(8).toString('hex')}`) },
    }),
  );
  await expectStatus(
    401,
    t.call('post', '/v1/auth/login', {
      body: { email: `nobody-${email}`, password: keep(`pw-${randomUUID()}`) },
    }),
  );
  const inn = await t.call('post', '/v1/auth/login', { body: { email, password } });
  expect(inn.status).toBe(200);
  keep(inn.body.accessToken);
  const next = await t.call('post', '/v1/auth/refresh', {
    body: { refreshToken: keep(inn.body.refreshToken) },
  });
  expect(next.status).toBe(200);
  const access = keep(next.body.accessToken);
  keep(next.body.refreshToken);
  await expectStatus(
    401,
    t.call('post', '/v1/auth/refresh', { body: { refreshToken: inn.body.refreshToken } }),
  );

  // Tokens for automation and for the data plane, used, misused and revoked.
  const owner = { userId: up.body.user.id, email, password, token: access };
  const { tenantId, workspaceId } = await t.createTenant(owner);
  const login = await t.call('post', '/v1/auth/login', { body: { email, password } });
  const token = keep(login.body.accessToken);
  const api = await t.call('post', `/v1/tenants/${tenantId}/api-tokens`, {
    token,
    body: { name: 'ci', role: 'admin' },
  });
  expect(api.status).toBe(201);
  keep(api.body.token);
  await expectStatus(200, t.call('get', `/v1/tenants/${tenantId}/api-tokens`, { token: api.body.token }));
  await expectStatus(403, t.call('get', '/v1/me', { token: api.body.token }));
  const dp = await t.call<{ id: string; token: string }>('post', `/v1/tenants/${tenantId}/dataplane-tokens`, {
    token,
    body: { name: 'dp' },
  });
  expect(dp.status).toBe(201);
  keep(dp.body.token);
  await expectStatus(200, t.call('get', '/v1/dataplane/config', { token: dp.body.token }));
  await expectStatus(401, t.call('get', '/v1/me', { token: dp.body.token }));
  await expectStatus(
    204,
    t.call('delete', `/v1/tenants/${tenantId}/dataplane-tokens/${dp.body.id}`, { token }),
  );
  await expectStatus(401, t.call('get', '/v1/dataplane/config', { token: dp.body.token }));
  await expectStatus(
    401,
    t.call('get', '/v1/me', { token: keep(`rdr_api_${randomBytes(32).toString('base64url')}`) }),
  );
  await expectStatus(401, t.call('get', '/v1/me', { token: keep(`${access.slice(0, -4)}AAAA`) }));

  // A write key in a query string, where request logs would pick it up.
  const writeKey = keep(newWriteKey());
  await t.cp.deps.db.pool.query(
    'INSERT INTO sources (tenant_id, workspace_id, id, name, write_key) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, workspaceId, `src_${randomBytes(8).toString('hex')}`, 'web', writeKey],
  );
  const unknownKey = keep(newWriteKey());
  await expectStatus(401, t.call('get', `/sourceConfig?writeKey=${unknownKey}`));
  await expectStatus(200, t.call('get', `/sourceConfig?writeKey=${writeKey}`));

  await expectStatus(
    204,
    t.call('post', '/v1/auth/logout', { body: { refreshToken: next.body.refreshToken } }),
  );
  const lastRequest = randomUUID();
  await expectStatus(
    204,
    t.call('post', '/v1/auth/logout-all', { token, headers: { 'x-request-id': lastRequest } }),
  );
  // Request lines are written when a response finishes, which may be after the client has it.
  await waitFor('the last request to be logged', () => t.logs().includes(lastRequest));

  const logs = t.logs();
  // The checks below mean something only if the interesting lines were written.
  expect(logs).toContain('"path":"/sourceConfig"');
  expect(logs).toContain('"path":"/v1/auth/login"');
  expect(logs).toContain('spent refresh token presented again');
  const leaked = [...secrets.flatMap(formsOf), '$argon2id$', 'writeKey='].filter((s) => logs.includes(s));
  expect(leaked).toEqual([]);
});
