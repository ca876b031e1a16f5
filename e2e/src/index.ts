/**
 * End-to-end test harness: a real Kubernetes control plane on this machine
 * (or kind), and a process kubelet that runs Rudder's pods as local processes.
 */
export * from './cluster.ts';
export * from './crds.ts';
export * from './config.ts';
export * from './kube-bins.ts';
export * from './kubeconfig.ts';
export * from './local-control-plane.ts';
export * from './local-rewrites.ts';
export * from './pod-env.ts';
export * from './pod-status.ts';
export * from './process-kubelet.ts';
export * from './dataplane-program.ts';
export * from './postgres-program.ts';
export * from './service-endpoints.ts';
export * from './processes.ts';
export * from './local-postgres.ts';
