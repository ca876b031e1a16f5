import type { Logger } from '@rudder/common';
import type { ControlPlaneConfig } from '../config.ts';
import type { Kube } from './kube.ts';

/** The Kubernetes client from KUBECONFIG or the in-cluster service account. */
export async function createKube(_cfg: ControlPlaneConfig, _logger: Logger): Promise<Kube> {
  throw new Error('KUBERNETES=kubeconfig is not available yet');
}
