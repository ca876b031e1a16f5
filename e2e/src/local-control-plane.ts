import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '@rudder/devkit';
import { apiGet, writeKubeconfig, type ApiAccess } from './kubeconfig.ts';
import { createClusterPki } from './pki.ts';
import { failedToStart, spawnLogged, type LoggedProcess } from './processes.ts';

/** etcd, kube-apiserver and kube-controller-manager running as local processes. */
export interface LocalControlPlane {
  access: ApiAccess;
  /** Admin kubeconfig (a `system:masters` token). */
  kubeconfigPath: string;
  processes: LoggedProcess[];
  /** Milliseconds from the start to each milestone, for the test log. */
  timings: Record<string, number>;
  /** Stops kube-controller-manager, kube-apiserver, then etcd (SIGTERM, SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Controllers that would act on the fake node as if it were real (evict its
 * pods when its kubelet is not heartbeating the way they expect, give it a
 * pod CIDR, routes, cloud load balancers) or need a signing CA we do not have.
 */
const DISABLED_CONTROLLERS = [
  'node-lifecycle-controller',
  'node-ipam-controller',
  'cloud-node-lifecycle-controller',
  'service-lb-controller',
  'node-route-controller',
  'certificatesigningrequest-signing-controller',
];

/**
 * Starts a control plane in `dir`, every server on 127.0.0.1 with free ports;
 * resolves when the API is ready and kube-controller-manager has created the
 * `default` ServiceAccount (pods can be created from then on). On failure,
 * stops what it started and throws with the failing binary's log tail.
 */
export async function startLocalControlPlane(binDir: string, dir: string): Promise<LocalControlPlane> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string): void => void (timings[what] = Date.now() - started);
  const processes: LoggedProcess[] = [];
  const stop = async (graceMs = 3000): Promise<void> => {
    for (const proc of [...processes].reverse()) await proc.stop(graceMs);
  };
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const launch = (name: string, args: string[]): LoggedProcess => {
    const proc = spawnLogged(name, join(binDir, name), args, { logFile: join(logs, `${name}.log`) });
    processes.push(proc);
    return proc;
  };
  try {
    const [pki, etcdPort, peerPort, apiPort] = await Promise.all([
      createClusterPki(join(dir, 'pki')),
      freePort(),
      freePort(),
      freePort(),
    ]);
    mark('pki');
    const access: ApiAccess = {
      server: `https://127.0.0.1:${apiPort}`,
      caFile: pki.caCert,
      token: pki.adminToken,
    };
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = launch('etcd', [
      '--name=e2e',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e2e=${peerUrl}`,
      '--unsafe-no-fsync', // a throwaway cluster: durability buys nothing, fsync costs a lot
      '--log-level=warn',
    ]);
    // kube-apiserver retries etcd on its own, so both start at once.
    const apiserver = launch('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--advertise-address=127.0.0.1',
      // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation rejects.
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,ResourceQuota,LimitRanger,PodSecurity,DefaultStorageClass',
      '--allow-privileged=false',
      '--profiling=false',
    ]);
    await waitForProcess([etcd, apiserver], 'did not become ready', async () => {
      const { status } = await apiGet(access, '/readyz');
      return status === 200;
    });
    mark('apiserver');

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, access);
    const kcm = launch('kube-controller-manager', [
      `--kubeconfig=${kubeconfigPath}`,
      `--controllers=*,${DISABLED_CONTROLLERS.map((name) => `-${name}`).join(',')}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0', // nothing to serve: readiness is the `default` ServiceAccount appearing
      '--kube-api-qps=500', // the defaults (20/30) throttle throughput tests with many pods
      '--kube-api-burst=1000',
      // Test clusters only: the HPA controller looks at each HPA every second instead of every 15 s, so
      // autoscaling tests wait on its decisions for seconds (its discovery of a new CRD still refreshes
      // every 30 s, on a timer no flag changes).
      '--horizontal-pod-autoscaler-sync-period=1s',
      '--profiling=false',
    ]);
    await waitForProcess([etcd, apiserver, kcm], 'did not create the default ServiceAccount', async () => {
      const { status } = await apiGet(access, '/api/v1/namespaces/default/serviceaccounts/default');
      return status === 200;
    });
    mark('controller-manager');
    return { access, kubeconfigPath, processes, timings, stop };
  } catch (err) {
    await stop(1000);
    throw err;
  }
}

/**
 * Waits for `check` on behalf of the last of `procs`; fails early, with the
 * log tail of the one that died, if any of them exits.
 */
async function waitForProcess(
  procs: LoggedProcess[],
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const died = new AbortController();
  let dead: LoggedProcess | undefined;
  for (const proc of procs) {
    void proc.exited.then(() => {
      dead ??= proc;
      died.abort();
    });
  }
  const main = procs[procs.length - 1]!;
  try {
    await waitFor(`${main.name} to be ready`, check, { timeoutMs, intervalMs: 50, signal: died.signal });
  } catch (err) {
    throw dead ? failedToStart(dead, 'exited while starting') : failedToStart(main, what, err);
  }
}
