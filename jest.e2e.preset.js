// Shared Jest settings for the end-to-end suites (apps/<app>/test/*.e2e-spec.ts), which
// start built services as real processes: slower than unit tests, so a longer timeout.
const base = require('./jest.preset.js');

module.exports = {
  ...base,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js'],
  testTimeout: 120_000,
};
