export * from './event.ts';
export * from './partition.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './env.ts';
export * from './workspace-config.ts';
export * from './metrics.ts';
export * from './kube-status.ts';
