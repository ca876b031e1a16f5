import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  namespace?: string;
}

const COMPONENT = 'rudder-operator';
/** Repeats of the same event within this window bump its count instead of adding an object. */
const AGGREGATE_MS = 10 * 60_000;

/**
 * Records Kubernetes Events (core/v1) about RudderInstances, so `kubectl
 * describe rudderinstance` shows what the operator did and what failed. Events
 * of cluster-scoped objects live in the `default` namespace, where kubectl
 * looks for them. Recording never fails a reconcile: errors are logged.
 */
export class EventRecorder {
  private readonly core: k8s.CoreV1Api;
  private readonly logger: Logger;
  private readonly mergePatch: k8s.ConfigurationOptions;
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, logger: Logger) {
    this.core = kc.makeApiClient(lib.CoreV1Api);
    this.logger = logger;
    this.mergePatch = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch);
  }

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const key = `${target.uid}/${type}/${reason}/${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    try {
      if (seen && now.getTime() - seen.at < AGGREGATE_MS) {
        seen.count += 1;
        seen.at = now.getTime();
        await this.core.patchNamespacedEvent(
          {
            name: seen.name,
            namespace: seen.namespace,
            body: { count: seen.count, lastTimestamp: now },
          },
          this.mergePatch,
        );
        return;
      }
      const name = `${target.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: target.apiVersion,
            kind: target.kind,
            name: target.name,
            uid: target.uid,
            ...(target.namespace ? { namespace: target.namespace } : {}),
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: COMPONENT,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.recent.set(key, { name, namespace, count: 1, at: now.getTime() });
      if (this.recent.size > 10_000) this.forgetOld(now.getTime());
    } catch (err) {
      this.recent.delete(key);
      this.logger.warn({ reason, object: target.name, error: String(err) }, 'could not record event');
    }
  }

  private forgetOld(now: number): void {
    for (const [key, value] of this.recent) if (now - value.at > AGGREGATE_MS) this.recent.delete(key);
  }
}
