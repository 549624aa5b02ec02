/** One jest config for every workspace; tests import workspaces through their public src index. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  moduleNameMapper: {
    '^@mlops/schema$': '<rootDir>/schema/src/index.ts',
    '^@mlops/runtime$': '<rootDir>/runtime/src/index.ts',
    '^@mlops/runtime/database$': '<rootDir>/runtime/src/database/index.ts',
    '^@mlops/experiments$': '<rootDir>/subgraphs/experiments/src/index.ts',
    '^@mlops/models$': '<rootDir>/subgraphs/models/src/index.ts',
    '^@mlops/deployments$': '<rootDir>/subgraphs/deployments/src/index.ts',
    '^@mlops/alerts$': '<rootDir>/subgraphs/alerts/src/index.ts',
    '^@mlops/business-metrics$': '<rootDir>/subgraphs/business-metrics/src/index.ts',
    '^@mlops/inference-sidecar$': '<rootDir>/inference-sidecar/src/index.ts',
    '^@mlops/gateway$': '<rootDir>/gateway/src/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30_000,
};
