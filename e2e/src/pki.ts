import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The files a throwaway control plane authenticates with, all under one folder. */
export interface ClusterPki {
  /** The CA that signed the API server's certificate (clients trust it). */
  caCert: string;
  /** The API server's serving certificate and key (valid for 127.0.0.1 and the in-cluster names). */
  serverCert: string;
  serverKey: string;
  /** RSA key pair that signs and verifies ServiceAccount tokens. */
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** `--token-auth-file`: one admin token in `system:masters`. */
  tokenFile: string;
  /** The admin's bearer token. */
  adminToken: string;
}

/** Names the API server's certificate is valid for: loopback plus what pods would dial. */
const SERVER_NAMES = [
  'IP:127.0.0.1',
  'IP:10.96.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

/**
 * Creates a CA and a serving certificate with the `openssl` CLI (Node can
 * parse X.509 but not issue it; P-256 keys keep this to a few milliseconds),
 * an RSA ServiceAccount key pair with node:crypto, and a static token file.
 */
export async function createClusterPki(dir: string): Promise<ClusterPki> {
  mkdirSync(dir, { recursive: true });
  const file = (name: string): string => join(dir, name);
  const adminToken = randomBytes(24).toString('hex');
  const pki: ClusterPki = {
    caCert: file('ca.crt'),
    serverCert: file('apiserver.crt'),
    serverKey: file('apiserver.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPub: file('sa.pub'),
    tokenFile: file('tokens.csv'),
    adminToken,
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'];
  const certificates = (async () => {
    await openssl([
      'req', '-x509', ...ec,
      '-keyout', file('ca.key'), '-out', pki.caCert,
      '-subj', '/CN=rudder-e2e-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    await openssl([
      'req', '-x509', ...ec,
      '-CA', pki.caCert, '-CAkey', file('ca.key'),
      '-keyout', pki.serverKey, '-out', pki.serverCert,
      '-subj', '/CN=kube-apiserver',
      '-addext', `subjectAltName=${SERVER_NAMES.join(',')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext', 'extendedKeyUsage=serverAuth',
    ]); // prettier-ignore
  })();
  const serviceAccount = promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }).then(({ publicKey, privateKey }) => {
    writeFileSync(pki.serviceAccountKey, privateKey, { mode: 0o600 });
    writeFileSync(pki.serviceAccountPub, publicKey);
  });
  writeFileSync(pki.tokenFile, `${adminToken},rudder-e2e-admin,rudder-e2e-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  await Promise.all([certificates, serviceAccount]);
  return pki;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr || String(err)}`, { cause: err });
  }
}
