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
  // Exit once every suite has run, whatever timer a library still holds: seen in CI, the
  // stack suites' run finished and then waited on one pending Timeout (no socket, no child)
  // for over 7 minutes. A suite's own leaks still fail it (its processes are stopped in
  // afterAll and checked there).
  forceExit: true,
};
