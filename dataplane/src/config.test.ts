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
