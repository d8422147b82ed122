module.exports = { displayName: 'billing-server-e2e', preset: '../../jest.e2e.preset.js' };
