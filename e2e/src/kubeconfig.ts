import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { stringify } from 'yaml';

/** How to reach and authenticate to an API server with a bearer token. */
export interface ApiAccess {
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** PEM file of the CA the server's certificate chains to. */
  caFile: string;
  token: string;
}

/** Writes a self-contained kubeconfig (CA embedded) for `access`, context `rudder-e2e`. */
export function writeKubeconfig(path: string, access: ApiAccess, user = 'rudder-e2e-admin'): void {
  const ca = readFileSync(access.caFile).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'rudder-e2e', cluster: { server: access.server, 'certificate-authority-data': ca } }],
    users: [{ name: user, user: { token: access.token } }],
    contexts: [{ name: 'rudder-e2e', context: { cluster: 'rudder-e2e', user } }],
    'current-context': 'rudder-e2e',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}

/**
 * `GET path` against the API server; resolves with the HTTP status and body.
 * Plain node:https rather than a client library: used while the server is
 * still coming up, where all that matters is whether it answers 200.
 */
export function apiGet(
  access: ApiAccess,
  path: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  const ca = readFileSync(access.caFile);
  return new Promise((resolve, reject) => {
    const req = request(
      `${access.server}${path}`,
      { ca, headers: { authorization: `Bearer ${access.token}` }, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
