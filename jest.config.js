/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Tests train real (small) models and spawn CLIs; on 2 cores that takes longer than jest's 5 s default.
  testTimeout: 120000,
  // One worker per core; each TF.js test holds its own backend.
  maxWorkers: 2,
  setupFiles: ['<rootDir>/test/support/quiet-tfjs-banner.js'],
  // A real MLflow 3.11 on PostgreSQL (test/support/real-mlflow), started once per run.
  globalSetup: '<rootDir>/test/support/real-mlflow/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/real-mlflow/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
