import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@rudder/devkit';
import { HttpClient, MAX_RESPONSE_BODY_BYTES, networkErrorOf } from './http-client.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local server answering with `handler`; records what it received and how many connections it saw. */
async function startServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const received: Received[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('HttpClient', () => {
  let client: HttpClient;
  const servers: { close(): Promise<void> }[] = [];
  beforeEach(() => {
    client = new HttpClient();
  });
  afterEach(async () => {
    await client.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const serve = async (handler: Parameters<typeof startServer>[0]) => {
    const server = await startServer(handler);
    servers.push(server);
    return server;
  };

  it('sends the request as specified and returns status, headers and body', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('X-Request-Id', 'abc');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const result = await client.send(
      {
        method: 'PUT',
        url: `${server.url}/hook?x=1`,
        headers: { 'content-type': 'application/json', 'x-token': 't' },
        body: '{"a":1}',
      },
      5000,
    );
    expect(result).toMatchObject({ kind: 'response', status: 201, body: '{"ok":true}' });
    expect(result.kind === 'response' && result.headers).toMatchObject({
      'x-request-id': 'abc',
      'set-cookie': 'a=1, b=2',
    });
    expect(server.received).toEqual([
      expect.objectContaining({
        method: 'PUT',
        url: '/hook?x=1',
        body: '{"a":1}',
        headers: expect.objectContaining({ 'x-token': 't' }) as unknown,
      }),
    ]);
  });

  it('sends a GET without a body', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const result = await client.send({ method: 'GET', url: `${server.url}/?q=1`, headers: {} }, 5000);
    expect(result).toMatchObject({ kind: 'response', status: 200, body: 'ok' });
    expect(server.received[0]).toMatchObject({ method: 'GET', body: '' });
  });

  it('returns a 500 as a response, not an error', async () => {
    const server = await serve((_req, res) => res.writeHead(500).end('boom'));
    const result = await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 5000);
    expect(result).toMatchObject({ kind: 'response', status: 500, body: 'boom' });
  });

  it('keeps connections alive across consecutive requests to one origin', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    for (let i = 0; i < 10; i++)
      await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 5000);
    // undici frees a connection a tick after the body ends, so the second request may open one more.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('gives up on a server that never answers after the timeout, as a timeout', async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    const result = await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 300);
    expect(result).toMatchObject({ kind: 'network-error', code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out a body that stalls after the headers', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const result = await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 300);
    expect(result).toMatchObject({ kind: 'network-error', code: 'timeout' });
  });

  it('reports a refused connection as ECONNREFUSED', async () => {
    const port = await freePort();
    const result = await client.send(
      { method: 'POST', url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' },
      5000,
    );
    expect(result).toMatchObject({ kind: 'network-error', code: 'ECONNREFUSED' });
  });

  it('reports a connection dropped before the answer as ECONNRESET', async () => {
    const server = await serve((req) => req.socket.destroy());
    const result = await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 5000);
    expect(result).toMatchObject({ kind: 'network-error', code: 'ECONNRESET' });
  });

  it('keeps only the first 64 KiB of a big body', async () => {
    const server = await serve((_req, res) => res.end('x'.repeat(1024 * 1024)));
    const result = await client.send({ method: 'POST', url: server.url, headers: {}, body: '{}' }, 5000);
    expect(result.kind === 'response' && result.body.length).toBe(MAX_RESPONSE_BODY_BYTES);
  });

  it('still works after a truncated body cost it its connection', async () => {
    const server = await serve((req, res) => res.end(req.url === '/big' ? 'x'.repeat(512 * 1024) : 'small'));
    await client.send({ method: 'GET', url: `${server.url}/big`, headers: {} }, 5000);
    const result = await client.send({ method: 'GET', url: `${server.url}/small`, headers: {} }, 5000);
    expect(result).toMatchObject({ kind: 'response', status: 200, body: 'small' });
  });
});

describe('networkErrorOf', () => {
  it('maps every kind of timeout to "timeout"', () => {
    expect(networkErrorOf(Object.assign(new Error('h'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).code).toBe(
      'timeout',
    );
    expect(networkErrorOf(Object.assign(new Error('c'), { code: 'UND_ERR_CONNECT_TIMEOUT' })).code).toBe(
      'timeout',
    );
    expect(networkErrorOf(new DOMException('t', 'TimeoutError')).code).toBe('timeout');
  });

  it('takes the code of the first address tried from an AggregateError', () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(networkErrorOf(new AggregateError([refused], 'all failed')).code).toBe('ECONNREFUSED');
  });

  it('uses the cause of a socket error, ECONNRESET when there is none', () => {
    const cause = Object.assign(new Error('pipe'), { code: 'EPIPE' });
    expect(networkErrorOf(Object.assign(new Error('s', { cause }), { code: 'UND_ERR_SOCKET' })).code).toBe(
      'EPIPE',
    );
    expect(
      networkErrorOf(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).code,
    ).toBe('ECONNRESET');
  });

  it('falls back to UNKNOWN for things without a code', () => {
    expect(networkErrorOf('weird')).toEqual({ code: 'UNKNOWN', message: 'weird' });
  });
});
