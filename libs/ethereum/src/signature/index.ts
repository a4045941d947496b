export * from './errors';
export { SECP256K1_N, SECP256K1_HALF_N } from './curve';
export * from './secp256k1';
export * from './parse';
export * from './normalize';
export * from './public-key';
export * from './recover';
export * from './ethereum-signature';
export * from './transaction';
