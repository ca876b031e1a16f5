#!/usr/bin/env node
import { createLogger } from '@rudder/common';
import { loadConfig } from './config.ts';
import { migrate } from './db/migrate.ts';
import { startControlPlane } from './app.ts';

/**
 * `rudder-controlplane [serve]` runs the API and job workers;
 * `rudder-controlplane migrate` applies pending migrations and exits.
 */
const command = process.argv[2] ?? 'serve';
const cfg = loadConfig(process.env);
const logger = createLogger('rudder-controlplane', { level: cfg.logLevel });

if (command === 'migrate') {
  const { applied } = await migrate({ url: cfg.database.url, schema: cfg.database.schema }, logger);
  logger.info({ applied }, applied.length ? 'migrations applied' : 'schema is up to date');
} else if (command === 'serve') {
  const cp = await startControlPlane(cfg, { logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, cfg.shutdownTimeoutMs);
    deadline.unref();
    cp.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
} else {
  logger.error({ command }, 'unknown command; use `serve` or `migrate`');
  process.exit(2);
}
