module.exports = { ...require('../../jest.preset.js'), displayName: 'transactions', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
