module.exports = { ...require('../../jest.preset.js'), displayName: 'key-discovery', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
