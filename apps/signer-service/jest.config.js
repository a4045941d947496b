module.exports = { ...require('../../jest.preset.js'), displayName: 'signer-service', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
