/**
 * The partition map: which worker ordinal owns each of a tenant's partitions.
 *
 * The operator publishes it in the `partition-map` ConfigMap and the workers
 * watch it. Assignment is balanced (every worker owns floor(P/N) or ceil(P/N)
 * partitions) and moves as few partitions as possible when the worker count
 * changes, because every moved partition is a handoff that pauses its users'
 * events until the new owner has taken it over.
 */
import { z } from 'zod';

export interface PartitionMap {
  /** Bumped whenever an owner changes; workers use it to order handoffs. */
  epoch: number;
  partitions: number;
  replicas: number;
  /** `owners[p]` is the worker ordinal that owns partition `p`, or -1 when there are no workers. */
  owners: number[];
}

/**
 * The map for `partitions` partitions over `replicas` workers, derived from
 * `previous` with the fewest ownership changes. Deterministic: the same inputs
 * always give the same map.
 */
export function computePartitionMap(
  previous: PartitionMap | undefined,
  partitions: number,
  replicas: number,
): PartitionMap {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`invalid partition count ${partitions}`);
  if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`invalid replica count ${replicas}`);

  // A map of another partition count says nothing useful about this one.
  const before = previous !== undefined && previous.partitions === partitions ? previous.owners : undefined;
  const owners =
    replicas === 0 ? new Array<number>(partitions).fill(-1) : assign(before, partitions, replicas);

  if (previous === undefined) return { epoch: 1, partitions, replicas, owners };
  const unchanged = before !== undefined && before.every((owner, p) => owner === owners[p]);
  return { epoch: unchanged ? previous.epoch : previous.epoch + 1, partitions, replicas, owners };
}

function assign(before: number[] | undefined, partitions: number, replicas: number): number[] {
  const held = new Array<number>(replicas).fill(0);
  for (const owner of before ?? []) if (owner >= 0 && owner < replicas) held[owner]! += 1;

  // The P mod N larger shares go to the workers that already hold the most
  // (lowest ordinal on ties): that choice maximises what every worker keeps.
  const base = Math.floor(partitions / replicas);
  const byHoldings = [...held.keys()].sort((a, b) => held[b]! - held[a]! || a - b);
  const quota = new Array<number>(replicas).fill(base);
  for (const ordinal of byHoldings.slice(0, partitions % replicas)) quota[ordinal]! += 1;

  const owners = new Array<number>(partitions).fill(-1);
  const kept = new Array<number>(replicas).fill(0);
  for (let p = 0; p < partitions; p++) {
    const owner = before?.[p] ?? -1;
    if (owner >= 0 && owner < replicas && kept[owner]! < quota[owner]!) {
      owners[p] = owner;
      kept[owner]! += 1;
    }
  }

  let ordinal = 0;
  for (let p = 0; p < partitions; p++) {
    if (owners[p] !== -1) continue;
    while (kept[ordinal]! >= quota[ordinal]!) ordinal++;
    owners[p] = ordinal;
    kept[ordinal]! += 1;
  }
  return owners;
}

const partitionMapSchema = z
  .object({
    epoch: z.number().int().min(0),
    partitions: z.number().int().min(1),
    replicas: z.number().int().min(0),
    owners: z.array(z.number().int().min(-1)),
  })
  .refine((m) => m.owners.length === m.partitions, 'owners must have one entry per partition')
  .refine(
    (m) => m.owners.every((o) => (m.replicas === 0 ? o === -1 : o >= 0 && o < m.replicas)),
    'every owner must be a worker ordinal below replicas (-1 only when replicas is 0)',
  );

/** The map in `json` (the ConfigMap's `map.json`), or undefined when it is missing or not a valid map. */
export function parsePartitionMap(json: string | undefined): PartitionMap | undefined {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = partitionMapSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * What a worker reports about its partitions (the `partition-status`
 * ConfigMap's value under its id, or a status file in local mode): the map
 * epoch it has acted on and the leases it holds, is acquiring and is
 * releasing. `settled` means it holds exactly what that epoch assigns it.
 */
export interface WorkerReport {
  worker: string;
  /** Random per process start: a restarted worker is a new incarnation. */
  incarnation: string;
  epoch: number;
  held: number[];
  acquiring: number[];
  releasing: number[];
  settled: boolean;
  /** ISO 8601 time of the report. */
  at: string;
}

const partitionList = z.array(z.number().int().min(0));
const workerReportSchema = z.object({
  worker: z.string().min(1),
  incarnation: z.string().min(1),
  epoch: z.number().int().min(0),
  held: partitionList,
  acquiring: partitionList,
  releasing: partitionList,
  settled: z.boolean(),
  at: z.string().min(1),
});

/** The report in `json`, or undefined when it is missing or malformed (a worker mid-upgrade, a hand edit). */
export function parseWorkerReport(json: string | undefined): WorkerReport | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = workerReportSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
