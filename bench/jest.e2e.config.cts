module.exports = { displayName: 'bench', preset: '../jest.e2e.preset.js', testTimeout: 620_000 };
