module.exports = { displayName: 'auth-server-e2e', preset: '../../jest.e2e.preset.js' };
