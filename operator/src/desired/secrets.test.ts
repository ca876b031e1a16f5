import type { KubernetesObject, V1NetworkPolicy, V1Secret } from '@kubernetes/client-node';
import { desiredObjects, MissingSecretError } from './index.ts';
import { EXTERNAL_URL, SECRETS, externalDatabase, find, has, makeInput } from './test-fixtures.ts';

const decode = (secret: V1Secret, key: string) => Buffer.from(secret.data![key]!, 'base64').toString('utf8');

describe('secrets and the database', () => {
  it('stores every Secret as Opaque base64 data, never stringData', () => {
    for (const o of desiredObjects(makeInput()).filter((o) => o.kind === 'Secret')) {
      const secret = o as V1Secret;
      expect(secret.type).toBe('Opaque');
      expect(secret.stringData).toBeUndefined();
      for (const value of Object.values(secret.data!)) expect(value).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    }
  });

  it('runs a managed Postgres with its credentials and a URL-encoded password in the database URL', () => {
    const objects = desiredObjects(makeInput());
    const credentials = find<V1Secret>(objects, 'Secret', 'postgres-credentials');
    expect(decode(credentials, 'username')).toBe('rudder');
    expect(decode(credentials, 'password')).toBe(SECRETS.postgresPassword);
    const url = decode(find<V1Secret>(objects, 'Secret', 'database-url'), 'url');
    expect(url).toBe(
      `postgres://rudder:${encodeURIComponent(SECRETS.postgresPassword)}@postgres.rudder-acme.svc.cluster.local:5432/rudder`,
    );
    expect(decodeURIComponent(new URL(url).password)).toBe(SECRETS.postgresPassword);
    expect(has(objects, 'StatefulSet', 'postgres')).toBe(true);
    expect(has(objects, 'Service', 'postgres')).toBe(true);
    expect(has(objects, 'NetworkPolicy', 'postgres-ingress')).toBe(true);
  });

  it('with an external database: no Postgres objects, the external URL, egress to its CIDR on 5432', () => {
    const objects = desiredObjects(makeInput(externalDatabase, { externalDatabaseUrl: EXTERNAL_URL }));
    for (const [kind, name] of [
      ['StatefulSet', 'postgres'],
      ['Service', 'postgres'],
      ['Secret', 'postgres-credentials'],
      ['NetworkPolicy', 'postgres-ingress'],
    ] as const)
      expect([kind, name, has(objects, kind, name)]).toEqual([kind, name, false]);
    expect(decode(find<V1Secret>(objects, 'Secret', 'database-url'), 'url')).toBe(EXTERNAL_URL);
    const egress = find<V1NetworkPolicy>(objects, 'NetworkPolicy', 'dataplane-egress').spec!.egress!;
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    expect(JSON.stringify(objects)).not.toContain(SECRETS.postgresPassword);
  });

  it('refuses an external database without its URL rather than building pods that cannot start', () => {
    expect(() => desiredObjects(makeInput(externalDatabase))).toThrow(MissingSecretError);
  });

  it('has the data-plane token Secret only once the token exists', () => {
    const without = desiredObjects(makeInput({}, { dataplaneToken: undefined }));
    expect(has(without, 'Secret', 'dataplane-token')).toBe(false);
    const token = find<V1Secret>(desiredObjects(makeInput()), 'Secret', 'dataplane-token');
    expect(decode(token, 'token')).toBe(SECRETS.dataplaneToken);
    expect(decode(find<V1Secret>(without, 'Secret', 'admin-token'), 'token')).toBe(SECRETS.adminToken);
  });

  it('keeps tokens, passwords and URLs with credentials out of everything but Secrets', () => {
    for (const input of [makeInput(), makeInput(externalDatabase, { externalDatabaseUrl: EXTERNAL_URL })]) {
      const others: KubernetesObject[] = desiredObjects(input).filter((o) => o.kind !== 'Secret');
      const text = JSON.stringify(others);
      const encoded = (s: string) => Buffer.from(s).toString('base64');
      for (const secret of [
        SECRETS.postgresPassword,
        SECRETS.adminToken,
        SECRETS.dataplaneToken,
        EXTERNAL_URL,
      ]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(encoded(secret));
        expect(text).not.toContain(encodeURIComponent(secret));
      }
      expect(text).not.toContain('ext-secret-pw');
    }
  });
});
