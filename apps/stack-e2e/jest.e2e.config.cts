module.exports = { displayName: 'stack-e2e', preset: '../../jest.e2e.preset.js' };
