import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';

const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

/** Every CRD of the platform (`crds/rudder.dev_*.yaml`), as the chart installs them. */
export const CRD_FILES = readdirSync(CRD_DIR)
  .filter((file) => /^rudder\.dev_.+\.yaml$/.test(file))
  .sort()
  .map((file) => join(CRD_DIR, file));

/** Applies every CRD of the platform (server-side) and waits until the API server serves them. */
export async function installCrds(cluster: Cluster): Promise<void> {
  const run = async (args: string[]): Promise<void> => {
    const r = await cluster.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  };
  await run(['apply', '--server-side', ...CRD_FILES.flatMap((file) => ['-f', file])]);
  await run(['wait', '--for=condition=Established', ...crdNames(), '--timeout=30s']);
}

/** `crd/<plural>.rudder.dev` for each file: `rudder.dev_workerpools.yaml` -> `crd/workerpools.rudder.dev`. */
function crdNames(): string[] {
  return CRD_FILES.map((file) => {
    const plural = /rudder\.dev_(.+)\.yaml$/.exec(file)![1]!;
    return `crd/${plural}.rudder.dev`;
  });
}
