/**
 * One jest run for the whole workspace: unit tests beside the code (packages/*\/src) and
 * cross-package tests with real servers (test/). Workspace packages resolve to their TypeScript
 * sources, so a test never runs against a stale build and every package shares one module state.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/otel3/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@traceweave/core/internal$': '<rootDir>/packages/core/src/internal-api.ts',
    '^@traceweave/view/render$': '<rootDir>/packages/view/src/render/index.ts',
    '^@traceweave/(core|node|express|koa|client|view)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 20000,
}
