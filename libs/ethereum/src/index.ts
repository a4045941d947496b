import { useNativeKeccak } from './hash/native-keccak';

// Every service that uses this library hashes with the native keccak when it loads (hash/native-keccak.ts).
useNativeKeccak();

export { useNativeKeccak };
export * from './signature';
export * from './rpc';
export * from './transaction';
