export * from './ports';
export * from './anvil';
export * from './softhsm';
export * from './process';
export * from './nats';
export * from './token-keys';
export * from './persistent-token';
export * from './fixtures';
