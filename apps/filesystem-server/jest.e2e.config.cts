module.exports = { displayName: 'filesystem-server-e2e', preset: '../../jest.e2e.preset.js' };
