export { loadConfig, type OperatorConfig } from './config.ts';
export { startOperator, type RunningOperator, type StartOptions } from './operator.ts';
export { FINALIZER } from './reconcile/reconciler.ts';
export * from './desired/index.ts';
