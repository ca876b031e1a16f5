export { startControlPlane, type ControlPlane } from './app.ts';
export { loadConfig, type ControlPlaneConfig } from './config.ts';
export { migrate } from './db/migrate.ts';
export { allRoutes } from './http/routes.ts';
