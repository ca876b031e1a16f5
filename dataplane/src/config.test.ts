import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.ts';

const base = { DATABASE_URL: 'postgres://localhost/rudder' };
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rudder-token-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config source', () => {
  it('reads a control plane URL with its token, without a trailing slash, and the long-poll hold', () => {
    const cfg = loadConfig({
      ...base,
      CONTROL_PLANE_URL: 'https://cp.example.com/',
      CONTROL_PLANE_TOKEN: 'tok',
      CONFIG_WAIT_SECONDS: '12',
    });
    expect(cfg.controlPlane).toEqual({ url: 'https://cp.example.com', token: 'tok', waitSeconds: 12 });
    expect(cfg.configFile).toBeUndefined();
  });

  it('reads the token from a mounted secret once, without its trailing newline', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-the-secret\n');
    const cfg = loadConfig({ ...base, CONTROL_PLANE_URL: 'http://cp:8080', CONTROL_PLANE_TOKEN_FILE: file });
    expect(cfg.controlPlane?.token).toBe('from-the-secret');
    expect(cfg.controlPlane?.waitSeconds).toBe(30);
  });

  it('refuses an unreadable or empty token file without echoing anything but the path', () => {
    expect(() =>
      loadConfig({ ...base, CONTROL_PLANE_URL: 'http://cp', CONTROL_PLANE_TOKEN_FILE: join(dir, 'missing') }),
    ).toThrow(/CONTROL_PLANE_TOKEN_FILE: cannot read .*missing \(ENOENT\)/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() =>
      loadConfig({ ...base, CONTROL_PLANE_URL: 'http://cp', CONTROL_PLANE_TOKEN_FILE: join(dir, 'empty') }),
    ).toThrow(/is empty/);
  });

  it.each([
    [{ CONFIG_FILE: '/c.json', CONTROL_PLANE_URL: 'http://cp', CONTROL_PLANE_TOKEN: 't' }, /not both/],
    [{ CONTROL_PLANE_URL: 'http://cp' }, /exactly one of CONTROL_PLANE_TOKEN/],
    [
      { CONTROL_PLANE_URL: 'http://cp', CONTROL_PLANE_TOKEN: 't', CONTROL_PLANE_TOKEN_FILE: '/t' },
      /exactly one/,
    ],
    [{ CONTROL_PLANE_TOKEN: 't' }, /CONTROL_PLANE_URL is not/],
    [{ CONTROL_PLANE_URL: 'ftp://cp', CONTROL_PLANE_TOKEN: 't' }, /http\(s\) URL/],
  ])('rejects an inconsistent config source %#', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('allows neither source (the cached config only)', () => {
    const cfg = loadConfig(base);
    expect(cfg.controlPlane).toBeUndefined();
    expect(cfg.configFile).toBeUndefined();
  });
});

describe('archive and replay settings', () => {
  it('keeps events a week by default; 0 turns the archive off', () => {
    expect(loadConfig(base).jobsdb.archiveRetentionHours).toBe(168);
    expect(loadConfig({ ...base, ARCHIVE_RETENTION_HOURS: '0' }).jobsdb.archiveRetentionHours).toBe(0);
    expect(loadConfig(base).replay).toEqual({ pollSeconds: 5, chunkSize: 1000 });
  });
});

describe('partition ownership', () => {
  it('defaults to the static map with 10 s leases, the worker id from POD_NAME and the ordinal from its suffix', () => {
    const cfg = loadConfig({ ...base, POD_NAME: 'worker-3' });
    expect(cfg.ownership).toEqual({
      workerId: 'worker-3',
      ordinal: 3,
      source: { kind: 'static' },
      leaseMs: 10_000,
      acquirePollMs: 200,
      reportIntervalMs: 5_000,
    });
  });

  it('reads the file and kubernetes sources, an explicit id and ordinal, and fractional lease seconds', () => {
    const file = loadConfig({
      ...base,
      WORKER_ID: 'w-a',
      WORKER_ORDINAL: '4',
      PARTITION_MAP_SOURCE: 'file',
      PARTITION_MAP_DIR: '/maps',
      PARTITION_LEASE_SECONDS: '1.5',
      PARTITION_ACQUIRE_POLL_MS: '50',
      PARTITION_REPORT_INTERVAL_MS: '1000',
    });
    expect(file.ownership).toEqual({
      workerId: 'w-a',
      ordinal: 4,
      source: { kind: 'file', dir: '/maps' },
      leaseMs: 1_500,
      acquirePollMs: 50,
      reportIntervalMs: 1_000,
    });
    const kube = loadConfig({
      ...base,
      WORKER_ID: 'worker-0',
      POD_NAME: 'ignored-7',
      PARTITION_MAP_SOURCE: 'kubernetes',
      POD_NAMESPACE: 'rudder-t1',
    });
    expect(kube.ownership).toMatchObject({
      workerId: 'worker-0',
      ordinal: 0,
      source: { kind: 'kubernetes', namespace: 'rudder-t1' },
    });
  });

  it.each([
    [
      { PARTITION_MAP_SOURCE: 'file', WORKER_ID: 'worker-1' },
      /PARTITION_MAP_DIR: required with PARTITION_MAP_SOURCE=file/,
    ],
    [{ PARTITION_MAP_SOURCE: 'kubernetes', WORKER_ID: 'worker-1' }, /POD_NAMESPACE: required/],
    [
      { PARTITION_MAP_SOURCE: 'file', PARTITION_MAP_DIR: '/m', WORKER_ID: 'box' },
      /WORKER_ORDINAL: required: the worker id "box"/,
    ],
    [{ WORKER_ID: 'worker 1' }, /WORKER_ID: "worker 1" is not a valid worker id/],
    [{ WORKER_ID: 'w/1' }, /not a valid worker id/],
    [{ PARTITION_MAP_SOURCE: 'etcd' }, /PARTITION_MAP_SOURCE/],
    [{ PARTITION_LEASE_SECONDS: '0' }, /PARTITION_LEASE_SECONDS/],
  ])('refuses incomplete ownership settings %#', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('takes no leases in the gateway role, whatever the ownership settings say', () => {
    const cfg = loadConfig({ ...base, RUDDER_ROLE: 'gateway', PARTITION_MAP_SOURCE: 'kubernetes' });
    expect(cfg.ownership).toBeUndefined();
  });
});
