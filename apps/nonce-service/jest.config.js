module.exports = { ...require('../../jest.preset.js'), displayName: 'nonce-service', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
