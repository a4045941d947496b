module.exports = { ...require('../../jest.preset.js'), displayName: 'ethereum', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
