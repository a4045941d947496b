module.exports = { ...require('../../jest.preset.js'), displayName: 'rpc-gateway', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
