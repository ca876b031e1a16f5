import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@rudder/devkit';
import { createLogger } from '@rudder/common';
import { computePartitionMap, parseWorkerReport, type PartitionMap } from '@rudder/common/partition-map';
import { FileMapSource, FileReportSink } from './file-source.ts';

let dir: string;
let source: FileMapSource | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rudder-map-'));
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function replaceMap(content: string): Promise<void> {
  await writeFile(join(dir, 'map.json.next'), content);
  await rename(join(dir, 'map.json.next'), join(dir, 'map.json'));
}

async function follow(): Promise<PartitionMap[]> {
  const seen: PartitionMap[] = [];
  source = new FileMapSource({ dir, logger: createLogger('test', { level: 'silent' }) });
  await source.start((map) => seen.push(map));
  return seen;
}

it('passes on the map present at start, then each new map written in its place, once each', async () => {
  const m1 = computePartitionMap(undefined, 8, 1);
  await replaceMap(JSON.stringify(m1));
  const seen = await follow();
  expect(seen).toEqual([m1]);

  const m2 = computePartitionMap(m1, 8, 2);
  await replaceMap(JSON.stringify(m2));
  await waitFor('the new map', () => seen.length === 2, { timeoutMs: 3_000 });
  expect(seen[1]).toEqual(m2);
  // Rewritten with the same content: nothing new to act on.
  await replaceMap(JSON.stringify(m2));
  await new Promise((r) => setTimeout(r, 700));
  expect(seen).toHaveLength(2);
});

it('waits for a map that does not exist yet, and skips content that is not a valid map', async () => {
  const seen = await follow();
  expect(seen).toEqual([]);
  await replaceMap('{"epoch": 1, "partitions": 8');
  await replaceMap(JSON.stringify({ epoch: 1, partitions: 8, replicas: 1, owners: [0, 0] }));
  await new Promise((r) => setTimeout(r, 700));
  expect(seen).toEqual([]);
  const m1 = computePartitionMap(undefined, 8, 2);
  await replaceMap(JSON.stringify(m1));
  await waitFor('the first valid map', () => seen.length === 1, { timeoutMs: 3_000 });
  expect(seen[0]).toEqual(m1);
});

it('writes the status file whole, by rename, leaving no temporary file behind', async () => {
  const sink = new FileReportSink({ dir, workerId: 'worker-2' });
  const report = {
    worker: 'worker-2',
    incarnation: 'abc',
    epoch: 3,
    held: [1, 4],
    acquiring: [5],
    releasing: [],
    settled: false,
    at: new Date().toISOString(),
  };
  await sink.write(report);
  await sink.write({ ...report, held: [1, 4, 5], acquiring: [], settled: true });
  expect(parseWorkerReport(await readFile(join(dir, 'status-worker-2.json'), 'utf8'))).toMatchObject({
    epoch: 3,
    held: [1, 4, 5],
    settled: true,
  });
  expect(await readdir(dir)).toEqual(['status-worker-2.json']);
});
