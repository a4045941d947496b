export {};
export * from './signature';
export * from './rpc';
export * from './transaction';
