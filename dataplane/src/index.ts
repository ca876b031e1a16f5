/** The data plane as a library: start it in-process (tests, benchmarks) with a parsed config. */
export { startDataPlane, type DataPlane } from './app.ts';
export { loadConfig, type DataPlaneConfig } from './config.ts';
