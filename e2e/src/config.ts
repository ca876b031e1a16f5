import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the end-to-end tests get their Kubernetes cluster from. */
export type ClusterMode = 'local' | 'kind' | 'kubeconfig';

/** The harness's settings, read from the environment once. */
export interface E2eConfig {
  /**
   * `local` (default): etcd, kube-apiserver and kube-controller-manager run
   * here as processes. `kind`: an existing kind cluster. `kubeconfig`: whatever
   * KUBECONFIG points at. The last two start nothing.
   */
  mode: ClusterMode;
  /** Name of the kind cluster in `kind` mode (E2E_KIND_NAME, default `rudder`). */
  kindName: string;
  /** The kubeconfig file in `kubeconfig` mode (KUBECONFIG, default ~/.kube/config). */
  kubeconfig: string;
  /** A folder holding the Kubernetes binaries (E2E_KUBE_BIN_DIR); unset = build or find them with scripts/kube-bins.sh. */
  binDir: string | undefined;
  /** The repository root: the harness keeps its files in `<root>/.data/e2e`. */
  root: string;
  /** PATH for the processes the harness starts (pods get nothing else from this environment). */
  path: string;
  /** The environment tools run with (kube-bins.sh, kind): Go's and kind's settings pass through. */
  toolEnv: NodeJS.ProcessEnv;
}

const MODES: readonly ClusterMode[] = ['local', 'kind', 'kubeconfig'];

/** Reads the harness's settings from `env`; throws on an unknown E2E_CLUSTER. */
export function loadE2eConfig(env: NodeJS.ProcessEnv = process.env): E2eConfig {
  const mode = (env['E2E_CLUSTER'] ?? 'local') as ClusterMode;
  if (!MODES.includes(mode)) {
    throw new Error(`E2E_CLUSTER must be one of ${MODES.join(', ')}; got ${JSON.stringify(mode)}`);
  }
  const kubeconfigs = (env['KUBECONFIG'] ?? '').split(':').filter(Boolean);
  return {
    mode,
    kindName: env['E2E_KIND_NAME'] || 'rudder',
    kubeconfig: kubeconfigs[0] ?? join(homedir(), '.kube', 'config'),
    binDir: env['E2E_KUBE_BIN_DIR'] || undefined,
    root: join(import.meta.dirname, '..', '..'),
    path: env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    toolEnv: { ...env },
  };
}
