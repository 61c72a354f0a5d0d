/** @type {import('jest').Config} */
const project = (displayName, pattern, extra = {}) => ({
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
  ...extra,
});

// The shared redis-server belongs to the projects that use it, so `--selectProjects unit` needs
// none. Jest runs each distinct globalSetup path once for the selected projects: one server for
// integration and e2e together.
const sharedRedis = {
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
};

export default {
  projects: [
    project('unit', 'unit/**/*.spec.ts'),
    project('integration', 'integration/**/*.int-spec.ts', sharedRedis),
    project('e2e', 'e2e/**/*.e2e-spec.ts', sharedRedis),
  ],
};
