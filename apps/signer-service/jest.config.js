// The signer-service tests run SoftHSM2 in-process: SOFTHSM2_CONF must be in the real environment.
require('../../libs/testing/jest-softhsm-env.js').useSharedSoftHsmConf();

module.exports = { ...require('../../jest.preset.js'), displayName: 'signer-service', rootDir: __dirname, testMatch: ['<rootDir>/src/**/*.spec.ts'] };
