// Jest runs the TypeScript sources as native ESM (Node 24), compiled per file by swc.
const swc = [
  '@swc/jest',
  {
    jsc: { target: 'es2023', parser: { syntax: 'typescript' }, keepClassNames: true },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

/** @type {import('jest').Config} */
export default {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  testEnvironment: 'node',
  roots: [
    '<rootDir>/common',
    '<rootDir>/dataplane',
    '<rootDir>/devkit',
    '<rootDir>/controlplane',
    '<rootDir>/operator',
    '<rootDir>/e2e',
    '<rootDir>/charts',
  ],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/.data/'],
  globalSetup: '<rootDir>/devkit/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/devkit/src/jest/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
