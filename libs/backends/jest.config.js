// PKCS#11 integration tests run SoftHSM2 in-process: SOFTHSM2_CONF must be in the real environment.
require('../testing/jest-softhsm-env.js').useSharedSoftHsmConf();

module.exports = { ...require('../../jest.preset.js'), displayName: 'backends', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
