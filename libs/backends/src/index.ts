export * from './types';
export * from './errors';
export * from './backoff';
export * from './registry';
export * from './pkcs11/pkcs11-backend';
export { SessionPool, SessionPoolClosedError } from './pkcs11/session-pool';
export { ckrName } from './pkcs11/module';
