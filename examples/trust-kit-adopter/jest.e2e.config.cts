module.exports = { displayName: 'trust-kit-adopter-e2e', preset: '../../jest.e2e.preset.js' };
