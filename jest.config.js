/** @type {import('jest').Config} */
const project = (displayName, pattern) => ({
  displayName,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: [`<rootDir>/test/${pattern}`],
  moduleNameMapper: {
    '^nest-redis-rate-limit$': '<rootDir>/lib/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
});

export default {
  // A leaked handle must not keep CI waiting forever; tests close what they open.
  forceExit: true,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  projects: [
    project('unit', 'unit/**/*.spec.ts'),
    project('integration', 'integration/**/*.int-spec.ts'),
    project('e2e', 'e2e/**/*.e2e-spec.ts'),
  ],
};
