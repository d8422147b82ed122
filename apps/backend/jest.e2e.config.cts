module.exports = { displayName: 'backend-e2e', preset: '../../jest.e2e.preset.js' };
