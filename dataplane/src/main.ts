#!/usr/bin/env node
import { createLogger } from '@rudder/common';
import { loadConfig } from './config.ts';
import { startDataPlane } from './app.ts';

/** The data plane program: reads its env, runs until SIGTERM/SIGINT, drains within the deadline, exits 0. */
const config = loadConfig(process.env);
const logger = createLogger('rudder-dataplane', { level: config.logLevel });
process.on('unhandledRejection', (err) => {
  logger.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

const dataPlane = await startDataPlane(config, { logger }).catch((err: unknown) => {
  logger.fatal({ err }, 'data plane failed to start');
  process.exit(1);
});

let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'drain deadline passed; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    dataPlane.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  });
}
