import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { KeepAliveKubeConfig } from '@rudder/common/kube-config';
import { loadE2eConfig, type ClusterMode, type E2eConfig } from './config.ts';
import { kubeBinDir } from './kube-bins.ts';
import { startLocalControlPlane } from './local-control-plane.ts';

/** What a `kubectl` run printed and how it ended. */
export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A Kubernetes cluster the end-to-end tests talk to. */
export interface Cluster {
  mode: ClusterMode;
  kubeconfigPath: string;
  /** The API server's URL. */
  server: string;
  /** A client configuration for `@kubernetes/client-node` (`kc.makeApiClient(CoreV1Api)`), with connection reuse (see KeepAliveKubeConfig). */
  kc: KubeConfig;
  /** The folder with kubectl (and etcd, kube-apiserver, ... in `local` mode); '' = kubectl from PATH. */
  binDir: string;
  /** This cluster's scratch folder (`.data/e2e/<id>`): kubeconfig, logs, pod files. Removed by `stop()`. */
  dir: string;
  /** Milliseconds `startCluster` took, and to each milestone of a local start. */
  startupMs: number;
  timings: Record<string, number>;
  /** Runs kubectl against this cluster; never throws on a non-zero exit (see `code`). */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Stops what `startCluster` started (nothing in `kind`/`kubeconfig` mode) and removes `dir`. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Environment to read E2E_CLUSTER, E2E_KIND_NAME, KUBECONFIG, E2E_KUBE_BIN_DIR from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Keep the scratch folder after `stop()` (to read the logs). */
  keepDir?: boolean;
}

/**
 * Gives the tests a cluster. By default (`E2E_CLUSTER=local`) it starts etcd,
 * kube-apiserver and kube-controller-manager as local processes on
 * 127.0.0.1 (no kubelet, no scheduler: see `startProcessKubelet`). With
 * `E2E_CLUSTER=kind` it uses the kind cluster `E2E_KIND_NAME` (default
 * `rudder`), with `E2E_CLUSTER=kubeconfig` whatever KUBECONFIG points at, and
 * starts nothing.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const config = loadE2eConfig(options.env);
  const dir = join(config.root, '.data', 'e2e', `cluster-${randomBytes(4).toString('hex')}`);
  // Not mkdtemp: its 0700 would lock out the `postgres` user that Postgres pods run as under root.
  mkdirSync(dir, { recursive: true });
  const removeDir = (): void => {
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (config.mode !== 'local') {
      const kubeconfigPath = await externalKubeconfig(config, dir);
      const binDir = await kubeBinDir(config).catch(() => '');
      return finish({ ...config, dir, binDir, kubeconfigPath, started, timings: {}, stop: async () => {} });
    }
    const binDir = await kubeBinDir(config);
    const timings: Record<string, number> = { bins: Date.now() - started };
    const plane = await startLocalControlPlane(binDir, dir);
    for (const [what, ms] of Object.entries(plane.timings)) timings[what] = timings['bins']! + ms;
    return finish({
      ...config,
      dir,
      binDir,
      kubeconfigPath: plane.kubeconfigPath,
      started,
      timings,
      stop: () => plane.stop(),
    });
  } catch (err) {
    removeDir();
    throw err;
  }

  function finish(parts: {
    mode: ClusterMode;
    dir: string;
    binDir: string;
    kubeconfigPath: string;
    started: number;
    timings: Record<string, number>;
    stop: () => Promise<void>;
  }): Cluster {
    const kc = new KeepAliveKubeConfig();
    kc.loadFromFile(parts.kubeconfigPath);
    const server = kc.getCurrentCluster()?.server ?? '';
    let stopping: Promise<void> | undefined;
    return {
      mode: parts.mode,
      kubeconfigPath: parts.kubeconfigPath,
      server,
      kc,
      binDir: parts.binDir,
      dir: parts.dir,
      startupMs: Date.now() - parts.started,
      timings: parts.timings,
      kubectl: (args, input) => kubectl(parts.binDir, parts.kubeconfigPath, args, input),
      stop: () => (stopping ??= parts.stop().finally(removeDir)),
    };
  }
}

async function externalKubeconfig(config: E2eConfig, dir: string): Promise<string> {
  if (config.mode === 'kubeconfig') return config.kubeconfig;
  const { stdout } = await promisify(execFile)('kind', ['get', 'kubeconfig', '--name', config.kindName], {
    env: config.toolEnv,
  });
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, stdout, { mode: 0o600 });
  return path;
}

function kubectl(binDir: string, kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  const command = binDir ? join(binDir, 'kubectl') : 'kubectl';
  return new Promise((resolve) => {
    const child = spawn(command, ['--kubeconfig', kubeconfig, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (err) => resolve({ stdout, stderr: `${stderr}${err.message}`, code: 127 }));
    child.once('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
    if (input !== undefined) child.stdin?.end(input);
  });
}
