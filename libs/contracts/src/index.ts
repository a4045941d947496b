export * from './subjects';
export * from './errors';
export * from './validate';
export * from './messages/signer';
export * from './messages/nonce';
export * from './messages/accounts';
export * from './routes';
export * from './batch';
