/**
 * One way to reach the Kubernetes API for every program that does: the
 * operator, the control plane's onboarding, the data-plane workers and the
 * e2e harness.
 */
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

/**
 * A KubeConfig whose API clients share one connection pool. client-node 2.0
 * builds a new undici Agent, hence a new TLS connection and its buffers, for
 * every request; a busy client then spends most of its time and memory on
 * handshakes. The first request's dispatcher is kept and handed to every
 * later one: the same cluster and credentials, so nothing else differs.
 */
export class KeepAliveKubeConfig extends KubeConfig {
  #dispatcher: ReturnType<RequestContext['getDispatcher']>;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    this.#dispatcher ??= context.getDispatcher();
    if (this.#dispatcher) context.setDispatcher(this.#dispatcher);
  }
}

/** `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account, with connection reuse. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KeepAliveKubeConfig();
  kc.loadFromDefault();
  return kc;
}
