import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { E2eConfig } from './config.ts';

const run = promisify(execFile);

/** The binaries a local cluster needs. */
export const KUBE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;

let cached: Promise<string> | undefined;

/**
 * The folder holding etcd, kube-apiserver, kube-controller-manager and
 * kubectl: E2E_KUBE_BIN_DIR, else what `scripts/kube-bins.sh` prints (it
 * builds them from Go modules into a shared cache on first use, which takes
 * a while, and answers at once after that). Asked once per process.
 */
export function kubeBinDir(config: E2eConfig): Promise<string> {
  cached ??= findKubeBinDir(config);
  return cached;
}

async function findKubeBinDir(config: E2eConfig): Promise<string> {
  if (config.binDir !== undefined) {
    assertComplete(config.binDir, 'E2E_KUBE_BIN_DIR');
    return config.binDir;
  }
  const script = join(config.root, 'scripts', 'kube-bins.sh');
  try {
    const { stdout } = await run('bash', [script], {
      cwd: config.root,
      maxBuffer: 16 * 1024 * 1024,
      env: config.toolEnv,
    });
    const dir = stdout.trim().split('\n').pop() ?? '';
    assertComplete(dir, script);
    return dir;
  } catch (err) {
    cached = undefined;
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `${script} could not provide the Kubernetes binaries: ${stderr.slice(-2000) || String(err)}`,
      { cause: err },
    );
  }
}

function assertComplete(dir: string, source: string): void {
  const missing = KUBE_BINARIES.filter((name) => !existsSync(join(dir, name)));
  if (missing.length > 0) throw new Error(`${source}: ${dir} lacks ${missing.join(', ')}`);
}
