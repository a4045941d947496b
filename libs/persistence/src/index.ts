export * from './client';
export * from './migrate';
export * from './nonce-ledger';
export * from './account-registry';
export * from './lifecycle-ledger';
export * from './database-errors';
export * from './rest-store';
