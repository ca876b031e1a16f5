import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';

export interface LeaderElectionOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  durationSeconds: number;
  renewSeconds: number;
  logger: Logger;
  onStartedLeading: () => void;
  /** Leadership was lost (renewals failed for a lease duration, or another holder took it). */
  onStoppedLeading: () => void;
}

/**
 * Leader election on a coordination.k8s.io Lease, the way client-go does it:
 * a candidate takes the Lease when it is free or its holder has not renewed it
 * for `durationSeconds` (judged by when *this* process last saw the record
 * change, so clocks need not agree); the leader renews every `renewSeconds`
 * with optimistic concurrency (resourceVersion), and stops leading when it
 * cannot renew before the lease would expire. `release` hands the Lease over
 * at shutdown so a standby takes over without waiting for expiry.
 */
export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly lib: typeof k8s;
  private readonly o: LeaderElectionOptions;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { key: string; at: number } | undefined;
  private lastRenewed = 0;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: LeaderElectionOptions) {
    this.lib = lib;
    this.api = kc.makeApiClient(lib.CoordinationV1Api);
    this.o = options;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; when leading, clears the holder so another replica can take over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.o.leaseName,
        namespace: this.o.namespace,
      });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      await this.api.replaceNamespacedLease({
        name: this.o.leaseName,
        namespace: this.o.namespace,
        body: lease,
      });
      this.o.logger.info({ lease: this.o.leaseName }, 'released leadership');
    } catch (err) {
      this.o.logger.warn({ error: String(err) }, 'could not release the lease; it will expire');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let result: 'held' | 'other' | 'error';
    try {
      result = (await this.tryAcquireOrRenew()) ? 'held' : 'other';
    } catch (err) {
      result = 'error';
      this.o.logger.warn({ error: errorText(err), leader: this.leading }, 'lease update failed');
    }
    const now = Date.now();
    // A leader that cannot renew stops before its lease could expire and a standby take over.
    const renewDeadlineMs = (this.o.durationSeconds - this.o.renewSeconds) * 1000;
    if (result === 'held') {
      this.lastRenewed = now;
      if (!this.leading) {
        this.leading = true;
        this.o.logger.info({ lease: this.o.leaseName, identity: this.o.identity }, 'became leader');
        this.o.onStartedLeading();
      }
    } else if (this.leading && (result === 'other' || now - this.lastRenewed >= renewDeadlineMs)) {
      this.leading = false;
      this.o.logger.error({ lease: this.o.leaseName }, 'lost leadership');
      this.o.onStoppedLeading();
    }
    if (this.stopped) return;
    const wait = this.leading ? this.o.renewSeconds * 1000 : Math.max(1000, (this.o.renewSeconds * 1000) / 2);
    this.timer = setTimeout(() => void this.tick(), wait);
    this.timer.unref();
  }

  /** True when this process holds the Lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity, durationSeconds } = this.o;
    const now = new this.lib.V1MicroTime();
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!(err instanceof this.lib.ApiException) || err.code !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const key = `${spec.holderIdentity ?? ''}/${String(spec.renewTime?.getTime?.() ?? '')}`;
    if (this.observed?.key !== key) this.observed = { key, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const expired =
      holder === '' || Date.now() - this.observed.at > (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: transitions,
    };
    // replace carries metadata.resourceVersion: a concurrent writer makes this fail with 409.
    await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  }
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err) return `HTTP ${String(err.code)}`;
  return String(err);
}
