import { performance } from 'node:perf_hooks';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from '@rudder/common';
import type { PartitionMap, WorkerReport } from '@rudder/common/partition-map';
import type { Fence } from '../jobsdb/index.ts';
import { withDeadline } from '../util/deadline.ts';
import { WakeableSleep } from '../util/wakeable-sleep.ts';
import { isFenced } from './errors.ts';
import { InFlightRounds, type Round, type RoundTracker } from './in-flight-rounds.ts';
import type { LeaseStore } from './lease-store.ts';
import { desiredPartitions, type PartitionMapSource, type ReportSink } from './map-source.ts';
import { ReportPublisher } from './report-publisher.ts';

export interface OwnershipMetrics {
  held: Gauge;
  epoch: Gauge;
  handoffs: Counter<'direction'>;
  fencedCommits: Counter<'stage'>;
  leaseAcquires: Counter;
  leaseReleases: Counter;
  leasesLost: Counter<'reason'>;
  settleSeconds: Histogram;
}

export interface OwnershipManagerOptions {
  store: LeaseStore;
  source: PartitionMapSource;
  sink: ReportSink;
  workerId: string;
  incarnation: string;
  /** This worker's ordinal: it wants the partitions `p` with `map.owners[p] === ordinal`. */
  ordinal: number;
  /** The data plane's partition count; a map for another count is ignored. */
  partitions: number;
  leaseMs: number;
  /** How often partitions assigned but not held are tried (`PARTITION_ACQUIRE_POLL_MS`). */
  acquirePollMs: number;
  /** How often the report is written when nothing changes (`PARTITION_REPORT_INTERVAL_MS`, default 5 s). */
  reportIntervalMs?: number;
  logger: Logger;
  metrics: OwnershipMetrics;
  /** Partitions were added to {@link OwnershipManager.partitions}: the processor and router should look now. */
  onGained?: () => void;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

type LossReason = 'expired' | 'taken' | 'renew_failed' | 'fenced';

/**
 * Which partitions this worker may work on, kept in step with the partition
 * map through leases in Postgres (docs/adr/0007).
 *
 * On a new map, partitions no longer assigned leave {@link partitions} at
 * once and are released once no round that included them is still running;
 * newly assigned ones are polled for until their lease is free (released by
 * the old owner, or expired when it crashed) and join {@link partitions}
 * once acquired. Held leases are renewed every third of the lease time; one
 * not renewed in time, or refused by the fence, is dropped at once. Every
 * change, and every few seconds, goes out as a {@link WorkerReport}.
 */
export class OwnershipManager implements RoundTracker {
  private readonly o: Required<Omit<OwnershipManagerOptions, 'onGained'>> &
    Pick<OwnershipManagerOptions, 'onGained'>;
  private readonly rounds: InFlightRounds;
  private readonly sleeper = new WakeableSleep();
  private readonly publisher: ReportPublisher;
  private map: PartitionMap | undefined;
  private desired = new Set<number>();
  /** Leases held (assigned or being given up), with the local time until which each is surely still valid. */
  private readonly leases = new Map<number, number>();
  /** Assigned by a map change and not acquired yet: counted as a handoff when acquired. */
  private readonly incoming = new Set<number>();
  private nextRenewAt = 0;
  private nextReportAt = 0;
  /** When the map this worker has not settled on yet arrived. */
  private changedAt: number | undefined;
  private lastReported = '';
  private dbFailing = false;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;

  constructor(options: OwnershipManagerOptions) {
    this.o = { reportIntervalMs: 5_000, now: () => performance.now(), ...options };
    this.rounds = new InFlightRounds((idle) => {
      // A partition waiting for its rounds to end can now be released, or taken again.
      if (idle.some((p) => this.leases.has(p) !== this.desired.has(p))) this.sleeper.wake();
    });
    this.publisher = new ReportPublisher(this.o.sink, this.o.logger);
  }

  /** Partitions the processor and router may pick up now: assigned, and held under a lease not yet due to expire. */
  partitions(): number[] {
    const now = this.o.now();
    const out: number[] = [];
    for (const [p, validUntil] of this.leases) if (validUntil > now && this.desired.has(p)) out.push(p);
    return out.sort((a, b) => a - b);
  }

  enter(partitions: readonly number[]): Round {
    const mine = [...partitions];
    return {
      leave: this.rounds.enter(mine),
      // Checked before every request a round sends: right after a pause, before any timer has run.
      valid: () => {
        const now = this.o.now();
        return mine.every((p) => (this.leases.get(p) ?? 0) > now);
      },
    };
  }

  /** The fence for one stage's commits: the lease check, counting refusals and dropping the partitions refused. */
  fence(stage: 'processor' | 'router'): Fence {
    return async (client, partitions) => {
      try {
        await this.o.store.fence(client, partitions);
      } catch (err) {
        if (isFenced(err)) {
          this.o.metrics.fencedCommits.inc({ stage });
          this.lose(err.partitions, 'fenced');
        }
        throw err;
      }
    };
  }

  /** What this worker reports: the epoch it acts on and its leases held, being acquired and being released. */
  report(): WorkerReport {
    const held: number[] = [];
    const releasing: number[] = [];
    const acquiring: number[] = [];
    for (const p of this.leases.keys()) (this.desired.has(p) ? held : releasing).push(p);
    if (!this.stopped) for (const p of this.desired) if (!this.leases.has(p)) acquiring.push(p);
    const byNumber = (a: number, b: number): number => a - b;
    return {
      worker: this.o.workerId,
      incarnation: this.o.incarnation,
      epoch: this.map?.epoch ?? 0,
      held: held.sort(byNumber),
      acquiring: acquiring.sort(byNumber),
      releasing: releasing.sort(byNumber),
      settled: this.settled(),
      at: new Date().toISOString(),
    };
  }

  /** Starts following the map; resolves after the first attempt to take the partitions it assigns. */
  async start(): Promise<void> {
    await this.o.source.start(this.onMap);
    await this.tick();
    this.loop = this.run();
  }

  /**
   * Stops following the map and releases every lease. Call it after the
   * processor and router have stopped: a lease still used by a round is
   * left to expire instead.
   */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.stopped = true;
      this.sleeper.wake();
      await this.loop;
      await this.o.source.stop();
      const all = [...this.leases.keys()];
      const idle = all.filter((p) => !this.rounds.busy(p));
      if (idle.length < all.length)
        this.o.logger.warn(
          { partitions: all.filter((p) => this.rounds.busy(p)) },
          'rounds still running at shutdown: their partition leases are left to expire',
        );
      this.leases.clear();
      try {
        const released = await this.bounded(this.o.store.release(idle), 'release');
        this.o.metrics.leaseReleases.inc(released.length);
        this.o.logger.info(
          { epoch: this.map?.epoch ?? 0, released: released.length },
          'partition leases released for shutdown',
        );
      } catch (err) {
        this.o.logger.warn(
          { error: String(err), leaseSeconds: this.o.leaseMs / 1000 },
          'cannot release the partition leases; they expire on their own',
        );
      }
      this.o.metrics.held.set(0);
      this.publisher.publish(this.report());
      await this.publisher.flushed();
    })());
  }

  private readonly onMap = (map: PartitionMap): void => {
    if (this.stopped) return;
    if (map.partitions !== this.o.partitions) {
      this.o.logger.error(
        { epoch: map.epoch, mapPartitions: map.partitions, partitions: this.o.partitions },
        'the partition map is for another partition count; ignored',
      );
      return;
    }
    const current = this.map;
    if (current && map.epoch <= current.epoch) {
      const same = map.epoch === current.epoch && map.owners.every((o, p) => o === current.owners[p]);
      if (!same)
        this.o.logger.warn(
          { epoch: map.epoch, current: current.epoch },
          'a partition map not newer than the current one; ignored',
        );
      return;
    }
    const before = this.desired;
    const desired = new Set(desiredPartitions(map, this.o.ordinal));
    const gained = [...desired].filter((p) => !before.has(p));
    const lost = [...before].filter((p) => !desired.has(p));
    for (const p of gained) this.incoming.add(p);
    for (const p of lost) this.incoming.delete(p);
    this.map = map;
    this.desired = desired;
    this.changedAt = this.o.now();
    this.o.metrics.epoch.set(map.epoch);
    this.o.logger.info(
      {
        epoch: map.epoch,
        previousEpoch: current?.epoch ?? 0,
        assigned: desired.size,
        gained: gained.length,
        lost: lost.length,
      },
      'partition map changed',
    );
    this.afterChange();
    this.sleeper.wake();
  };

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = this.o.now();
      const renewIn = this.leases.size > 0 ? this.nextRenewAt - now : Infinity;
      await this.sleeper.sleep(
        Math.max(10, Math.min(this.o.acquirePollMs, renewIn, this.nextReportAt - now)),
      );
      if (this.stopped) break;
      try {
        await this.tick();
      } catch (err) {
        this.o.logger.error({ err }, 'partition ownership step failed; retrying');
      }
    }
  }

  /** One step: drop leases past due, renew when due, release what is idle, acquire what is free. */
  private async tick(): Promise<void> {
    const now = this.o.now();
    const due = [...this.leases].filter(([, validUntil]) => validUntil <= now).map(([p]) => p);
    // Not renewed in time (a stalled process, a database outage): another worker may hold them already.
    if (due.length > 0) this.lose(due, 'expired');
    if (this.leases.size > 0 && now >= this.nextRenewAt) await this.renew();
    await this.releaseIdle();
    await this.acquireAssigned();
    this.afterChange();
  }

  private async renew(): Promise<void> {
    const partitions = [...this.leases.keys()];
    const sentAt = this.o.now();
    this.nextRenewAt = sentAt + this.o.leaseMs / 3;
    let renewed: Set<number>;
    try {
      renewed = new Set(
        await this.bounded(this.o.store.renew(partitions, this.map?.epoch ?? 0, this.desired), 'renew'),
      );
      this.dbRecovered();
    } catch (err) {
      this.dbFailed(err, 'cannot renew partition leases; dropping them');
      this.lose(
        partitions.filter((p) => this.leases.has(p)),
        'renew_failed',
      );
      return;
    }
    const taken: number[] = [];
    for (const p of partitions) {
      if (!this.leases.has(p)) continue; // fenced meanwhile
      if (renewed.has(p)) this.leases.set(p, sentAt + this.o.leaseMs);
      else taken.push(p);
    }
    if (taken.length > 0) this.lose(taken, 'taken');
  }

  private async releaseIdle(): Promise<void> {
    const idle = [...this.leases.keys()].filter((p) => !this.desired.has(p) && !this.rounds.busy(p));
    if (idle.length === 0) return;
    // Forgotten before the release: should it fail, the lease simply expires, and no round picks it up meanwhile.
    for (const p of idle) this.leases.delete(p);
    try {
      const released = await this.bounded(this.o.store.release(idle), 'release');
      this.dbRecovered();
      this.o.metrics.leaseReleases.inc(released.length);
      this.o.metrics.handoffs.inc({ direction: 'out' }, released.length);
      this.o.logger.info(
        { epoch: this.map?.epoch ?? 0, released: idle, held: this.leases.size },
        'partition leases released',
      );
    } catch (err) {
      this.dbFailed(err, 'cannot release partition leases; they expire on their own');
    }
  }

  private async acquireAssigned(): Promise<void> {
    if (!this.map) return;
    // A partition some round still works on waits: that round read under an earlier lease.
    const wanted = [...this.desired].filter((p) => !this.leases.has(p) && !this.rounds.busy(p));
    if (wanted.length === 0) return;
    const sentAt = this.o.now();
    const wasEmpty = this.leases.size === 0;
    let acquired: number[];
    try {
      acquired = await this.bounded(this.o.store.acquire(wanted, this.map.epoch), 'acquire');
      this.dbRecovered();
    } catch (err) {
      this.dbFailed(err, 'cannot acquire partition leases; retrying');
      return;
    }
    if (acquired.length === 0) return;
    // The first leases held: the next renewal is a third of the lease away, not overdue.
    if (wasEmpty) this.nextRenewAt = sentAt + this.o.leaseMs / 3;
    let handedOver = 0;
    for (const p of acquired) {
      this.leases.set(p, sentAt + this.o.leaseMs);
      if (this.incoming.delete(p)) handedOver++;
    }
    this.o.metrics.leaseAcquires.inc(acquired.length);
    this.o.metrics.handoffs.inc({ direction: 'in' }, handedOver);
    this.o.logger.info(
      { epoch: this.map.epoch, acquired, held: this.leases.size, assigned: this.desired.size },
      'partition leases acquired',
    );
    this.o.onGained?.();
  }

  /** Stops using `partitions` at once; assigned ones are taken again once their rounds have ended. */
  private lose(partitions: readonly number[], reason: LossReason): void {
    const gone = partitions.filter((p) => this.leases.delete(p));
    if (gone.length === 0) return;
    this.o.metrics.leasesLost.inc({ reason }, gone.length);
    this.o.logger.warn(
      { epoch: this.map?.epoch ?? 0, partitions: gone, reason, held: this.leases.size },
      'partition leases lost',
    );
    this.afterChange();
    this.sleeper.wake();
  }

  private settled(): boolean {
    if (!this.map || this.leases.size !== this.desired.size) return false;
    for (const p of this.desired) if (!this.leases.has(p)) return false;
    return true;
  }

  /** Metrics, the settle time of the current map, and the report: at once when anything changed, else when due. */
  private afterChange(): void {
    const now = this.o.now();
    let held = 0;
    for (const p of this.leases.keys()) if (this.desired.has(p)) held++;
    this.o.metrics.held.set(held);
    if (this.changedAt !== undefined && this.settled()) {
      const seconds = (now - this.changedAt) / 1000;
      this.changedAt = undefined;
      this.o.metrics.settleSeconds.observe(seconds);
      this.o.logger.info({ epoch: this.map?.epoch, held, seconds }, 'partitions settled');
    }
    const report = this.report();
    const state = JSON.stringify({ ...report, at: undefined });
    if (state === this.lastReported && now < this.nextReportAt) return;
    this.lastReported = state;
    this.nextReportAt = now + this.o.reportIntervalMs;
    this.publisher.publish(report);
  }

  /**
   * Gives up waiting on a lease statement after a lease time (a connection
   * that went silent): the loop must keep running to notice leases past due.
   * The statement may still finish; its effect is then just unknown, which
   * leases tolerate (an unrenewed lease expires, a lost release too).
   */
  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.o.leaseMs, `lease ${what} took longer than ${this.o.leaseMs} ms`);
  }

  private dbFailed(err: unknown, message: string): void {
    if (!this.dbFailing) this.o.logger.warn({ error: String(err) }, message);
    this.dbFailing = true;
  }

  private dbRecovered(): void {
    if (this.dbFailing) this.o.logger.info('partition lease store reachable again');
    this.dbFailing = false;
  }
}
