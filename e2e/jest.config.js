// End-to-end tests: real, unmodified clients (ethers, viem, web3.js, cast) against the whole stack
// started by startStack() (anvil, SoftHSM2, Postgres, NATS, the five built services as child
// processes). Files run one at a time (--runInBand in project.json): each starts its own stack.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/src/**/*.e2e-spec.ts'],
  testTimeout: 120_000,
  slowTestThreshold: 60,
};
