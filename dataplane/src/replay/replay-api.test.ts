import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@rudder/common';
import { HttpReplayApi } from './replay-api.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let url: string;
const seen: Seen[] = [];
let next: { status: number; body?: unknown } = { status: 200 };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(next.body === undefined ? '' : JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const api = (): HttpReplayApi =>
  new HttpReplayApi({ url, token: 'dp-token', logger: createLogger('test', { level: 'silent' }) });
const signal = new AbortController().signal;

it('lists the open replays with the data-plane token, skipping malformed entries and other statuses', async () => {
  next = {
    status: 200,
    body: {
      replays: [
        {
          id: 'r1',
          workspaceId: 'ws',
          sourceId: 's',
          destinationId: 'd',
          from: '2026-01-01T00:00:00.000Z',
          to: '2026-01-02T00:00:00+01:00',
          status: 'requested',
        },
        { id: 'r2', sourceId: 's', destinationId: 'd', from: 'yesterday', to: 'today', status: 'running' },
        {
          id: 'r3',
          sourceId: 's',
          destinationId: 'd',
          from: '2026-01-01T00:00:00Z',
          to: '2026-01-02T00:00:00Z',
          status: 'completed',
        },
      ],
    },
  };
  const replays = await api().list(signal);
  expect(replays).toEqual([
    {
      id: 'r1',
      sourceId: 's',
      destinationId: 'd',
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-01T23:00:00Z'),
    },
  ]);
  expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/dataplane/replays' });
  expect(seen[0]?.headers.authorization).toBe('Bearer dp-token');
});

it('fails a listing the control plane did not answer with 200', async () => {
  next = { status: 503 };
  await expect(api().list(signal)).rejects.toThrow(/HTTP 503/);
});

it('posts progress as JSON and tells accepted, gone (404/409) and failed answers apart', async () => {
  next = { status: 204 };
  const report = { status: 'running' as const, replayed: 5, total: 10 };
  await expect(api().report('r/1', report, signal)).resolves.toBe('accepted');
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/dataplane/replays/r%2F1/progress' });
  expect(JSON.parse(seen[0]!.body)).toEqual(report);
  expect(seen[0]?.headers['content-type']).toBe('application/json');
  next = { status: 404 };
  await expect(api().report('r1', report, signal)).resolves.toBe('gone');
  next = { status: 409 };
  await expect(api().report('r1', report, signal)).resolves.toBe('gone');
  next = { status: 500 };
  await expect(api().report('r1', report, signal)).rejects.toThrow(/HTTP 500/);
});
