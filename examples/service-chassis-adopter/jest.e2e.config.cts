module.exports = { displayName: 'service-chassis-adopter-e2e', preset: '../../jest.e2e.preset.js' };
