#!/usr/bin/env node
/**
 * The operator program: `node operator/src/main.ts`. Reads its configuration
 * from the environment (see config.ts), uses KUBECONFIG or the in-cluster
 * service account, and stops cleanly on SIGTERM/SIGINT.
 */
import { createLogger } from '@rudder/common';
import { loadConfig } from './config.ts';
import { startOperator } from './operator.ts';

const cfg = loadConfig(process.env);
const logger = createLogger('rudder-operator', { level: cfg.logLevel });
const operator = await startOperator(cfg, {
  logger,
  onLostLeadership: () => {
    logger.error('lost leadership; exiting so a fresh process campaigns again');
    process.exit(1);
  },
});

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, cfg.shutdownTimeoutMs);
  deadline.unref();
  operator.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ error: String(err) }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
