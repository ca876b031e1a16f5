import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { rewriteListen, rewriteMountPaths, rewriteServiceHosts, serviceRefs } from './local-rewrites.ts';
import { localServiceAddress, portMap } from './service-endpoints.ts';

describe('serviceRefs', () => {
  test('finds Service hosts with and without cluster.local, port and pod', () => {
    expect(serviceRefs('postgres://u:p@postgres.tenant-a.svc.cluster.local:5432/jobs')).toEqual([
      { pod: undefined, service: 'postgres', namespace: 'tenant-a', port: 5432 },
    ]);
    expect(serviceRefs('http://cp.rudder-system.svc/v1')).toEqual([
      { pod: undefined, service: 'cp', namespace: 'rudder-system', port: undefined },
    ]);
    expect(serviceRefs('postgres-0.postgres.tenant-a.svc.cluster.local:5432')).toEqual([
      { pod: 'postgres-0', service: 'postgres', namespace: 'tenant-a', port: 5432 },
    ]);
  });

  test('leaves other host names alone', () => {
    expect(serviceRefs('postgres://db.example.com:5432/x')).toEqual([]);
    expect(serviceRefs('http://postgres:5432 http://postgres.tenant-a:5432')).toEqual([]);
  });
});

describe('rewriteServiceHosts', () => {
  test('replaces host and port, and lists what it cannot resolve yet', () => {
    const { env, unresolved } = rewriteServiceHosts(
      {
        DATABASE_URL: 'postgres://u:p@postgres.a.svc.cluster.local:5432/jobs?sslmode=disable',
        OTHER: 'http://missing.a.svc:80/x',
        PLAIN: 'hello',
      },
      (ref) => (ref.service === 'postgres' && ref.port === 5432 ? '127.0.0.1:40001' : undefined),
    );
    expect(env).toEqual({
      DATABASE_URL: 'postgres://u:p@127.0.0.1:40001/jobs?sslmode=disable',
      OTHER: 'http://missing.a.svc:80/x',
      PLAIN: 'hello',
    });
    expect(unresolved).toEqual(['missing.a.svc:80']);
  });
});

test('rewriteMountPaths points values under a mount into its local folder, longest mount first', () => {
  const mounts = [
    { mountPath: '/etc/rudder', localPath: '/tmp/pod/volumes/config' },
    { mountPath: '/etc/rudder/token', localPath: '/tmp/pod/volumes/token' },
  ];
  expect(
    rewriteMountPaths(
      { A: '/etc/rudder/config.json', B: '/etc/rudder/token/value', C: '/etc/rudderx', D: '/etc/rudder' },
      mounts,
    ),
  ).toEqual({
    A: '/tmp/pod/volumes/config/config.json',
    B: '/tmp/pod/volumes/token/value',
    C: '/etc/rudderx',
    D: '/tmp/pod/volumes/config',
  });
});

test('rewriteListen sets hosts to loopback and ports to local ones, even when unset', () => {
  expect(rewriteListen({ HOST: '0.0.0.0', X: '1' }, ['HOST', 'ADMIN_HOST'], { PORT: 40002 })).toEqual({
    HOST: '127.0.0.1',
    ADMIN_HOST: '127.0.0.1',
    PORT: '40002',
    X: '1',
  });
});

describe('localServiceAddress', () => {
  const service: V1Service = {
    metadata: { name: 'gateway', namespace: 'a' },
    spec: { selector: { app: 'gw' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  const pod = (name: string, labels: Record<string, string>): V1Pod => ({
    metadata: { name, namespace: 'a', labels },
  });
  const ports = portMap([{ containerPort: 8080, name: 'http' }], { 8080: 40003 });
  const lookup = (ns: string, name: string): V1Service | undefined =>
    ns === 'a' && name === 'gateway' ? service : undefined;

  test('answers with the local port of a ready selected pod, by port number or name', () => {
    const endpoints = [
      { pod: pod('other', { app: 'x' }), ports, ready: true },
      { pod: pod('gw-1', { app: 'gw' }), ports, ready: true },
    ];
    const ref = { namespace: 'a', service: 'gateway', pod: undefined };
    expect(localServiceAddress({ ...ref, port: 80 }, lookup, endpoints)).toBe('127.0.0.1:40003');
    expect(localServiceAddress({ ...ref, port: 'http' }, lookup, endpoints)).toBe('127.0.0.1:40003');
    expect(localServiceAddress({ ...ref, port: undefined }, lookup, endpoints)).toBe('127.0.0.1:40003');
    expect(localServiceAddress({ ...ref, port: 81 }, lookup, endpoints)).toBeUndefined();
  });

  test('skips pods that are not ready', () => {
    const endpoints = [{ pod: pod('gw-1', { app: 'gw' }), ports, ready: false }];
    const ref = { namespace: 'a', service: 'gateway', pod: undefined, port: 80 };
    expect(localServiceAddress(ref, lookup, endpoints)).toBeUndefined();
  });
});
