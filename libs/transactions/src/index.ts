export * from './eth-node-client';
export * from './chain-facts';
export * from './account-directory';
export * from './service-errors';
export * from './transaction-sender';
export * from './logger';
export * from './payload-hash';
export * from './send-path';
