import { watch, type FSWatcher } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePartitionMap, type PartitionMap, type WorkerReport } from '@rudder/common/partition-map';
import type { Logger } from '@rudder/common';
import type { PartitionMapSource, ReportSink } from './map-source.ts';

/** The map's file name in `PARTITION_MAP_DIR`, as in the operator's ConfigMap key. */
export const MAP_FILE = 'map.json';

/** How often the file is read even without a change notification (fs.watch misses some, e.g. on network file systems). */
const POLL_MS = 500;

/** The status file of `workerId` in the map directory. */
export function statusFileName(workerId: string): string {
  return `status-${workerId}.json`;
}

/**
 * Reads the partition map from `<dir>/map.json` (local runs and tests: a
 * harness plays the operator). It watches the directory, not the file, so a
 * map replaced by rename (how it should be written) is seen too, and reads
 * the file on a short poll besides. Each distinct valid content is passed on
 * once; an invalid one is logged once and ignored.
 */
export class FileMapSource implements PartitionMapSource {
  private readonly path: string;
  private readonly dir: string;
  private readonly logger: Logger;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private reading: Promise<void> = Promise.resolve();
  private onMap: (map: PartitionMap) => void = () => {};
  private stopped = false;

  constructor(options: { dir: string; logger: Logger }) {
    this.dir = options.dir;
    this.path = join(options.dir, MAP_FILE);
    this.logger = options.logger;
  }

  async start(onMap: (map: PartitionMap) => void): Promise<void> {
    this.onMap = onMap;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null || name === MAP_FILE) this.check();
      });
      this.watcher.on('error', (err) => {
        this.logger.warn({ error: String(err) }, 'partition map directory watch failed; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.logger.warn(
        { error: String(err), dir: this.dir },
        'cannot watch the partition map directory; polling only',
      );
    }
    this.timer = setInterval(() => this.check(), POLL_MS);
    this.timer.unref();
    this.check();
    await this.reading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.close();
    await this.reading;
  }

  private check(): void {
    this.reading = this.reading.then(() => this.read());
  }

  private async read(): Promise<void> {
    if (this.stopped) return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT')
        this.logger.warn({ error: String(err), path: this.path }, 'cannot read the partition map');
      return;
    }
    if (text === this.last) return;
    this.last = text;
    const map = parsePartitionMap(text);
    if (!map) {
      this.logger.error({ path: this.path }, 'partition map file is not a valid map; ignored');
      return;
    }
    this.onMap(map);
  }
}

/** Writes this worker's report to `<dir>/status-<workerId>.json`, atomically (temporary file, then rename). */
export class FileReportSink implements ReportSink {
  private readonly path: string;
  private readonly temp: string;

  constructor(options: { dir: string; workerId: string }) {
    this.path = join(options.dir, statusFileName(options.workerId));
    this.temp = join(options.dir, `.${statusFileName(options.workerId)}.${process.pid}.tmp`);
  }

  async write(report: WorkerReport): Promise<void> {
    await writeFile(this.temp, `${JSON.stringify(report)}\n`);
    await rename(this.temp, this.path);
  }
}
