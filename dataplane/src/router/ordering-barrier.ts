import type { RouterJob, RouterWork } from '../jobsdb/index.ts';

/** What one delivery round may attempt. */
export interface RoundPlan {
  /** Per user, jobs to attempt in order; a lane stops at its first job that does not succeed. */
  lanes: RouterJob[][];
  /** Fresh jobs that must wait behind an earlier job of their user. */
  held: RouterJob[];
}

/**
 * The per-(destination, user) ordering barrier. A user with a job waiting
 * (retrying, or already held) gets nothing fresh delivered: their fresh jobs
 * are held. Their waiting jobs go out in order once the first one is due.
 * Users with nothing waiting get their fresh jobs in order. Other users never
 * wait for a blocked one.
 */
export function planRound(work: RouterWork, now: Date): RoundPlan {
  const waitingByUser = new Map<string, RouterJob[]>();
  for (const job of work.waiting) {
    const key = laneKey(job);
    let list = waitingByUser.get(key);
    if (!list) waitingByUser.set(key, (list = []));
    list.push(job);
  }
  const lanes: RouterJob[][] = [];
  for (const jobs of waitingByUser.values()) {
    jobs.sort((a, b) => a.jobId - b.jobId);
    if (isDue(jobs[0]!, now)) lanes.push(jobs);
  }
  const held: RouterJob[] = [];
  const freshByUser = new Map<string, RouterJob[]>();
  for (const job of work.fresh) {
    const key = laneKey(job);
    if (waitingByUser.has(key)) {
      held.push(job);
      continue;
    }
    let list = freshByUser.get(key);
    if (!list) freshByUser.set(key, (list = []));
    list.push(job);
  }
  for (const jobs of freshByUser.values()) lanes.push(jobs);
  return { lanes, held };
}

/** A waiting job is due when its backoff has passed; a held job (never attempted) is due at once. */
export function isDue(job: RouterJob, now: Date): boolean {
  const status = job.status;
  if (!status || status.attempts === 0) return true;
  return status.nextAttemptAt.getTime() <= now.getTime();
}

export function laneKey(job: Pick<RouterJob, 'partitionId' | 'userKey'>): string {
  return `${job.partitionId}\u0000${job.userKey}`;
}
