/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  setupFiles: ['<rootDir>/test/support/quiet-tfjs-banner.js'],
};

module.exports = {
  // Tests train real (small) models and spawn CLIs; on 2 cores that takes longer than jest's 5 s default.
  testTimeout: 120000,
  // One worker per core; each TF.js test holds its own backend.
  maxWorkers: 2,
  // A real MLflow 3.11 on PostgreSQL (test/support/real-mlflow), started once per run.
  globalSetup: '<rootDir>/test/support/real-mlflow/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/real-mlflow/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['**/*.test.ts'], testPathIgnorePatterns: ['\\.e2e\\.test\\.ts$'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['**/*.e2e.test.ts'],
      runner: '<rootDir>/test/support/serial-runner.js',
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
    },
  ],
};
