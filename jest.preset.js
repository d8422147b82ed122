const nxPreset = require('@nx/jest/preset').default;

// Suites that open an embedded PostgreSQL (PGlite) spend seconds in beforeAll; on a busy
// 2-core CI machine, with other suites running beside them, Jest's 5 s default is too short.
module.exports = { ...nxPreset, testTimeout: 30_000 };
