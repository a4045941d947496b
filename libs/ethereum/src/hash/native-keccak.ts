import { keccak256 } from 'ethers';

/**
 * ethers hashes with @noble/hashes' JavaScript keccak (~24 µs for a 120-byte transaction here); the
 * `keccak` package's native binding does the same in ~8 µs. Every signature costs three (digest,
 * hash, and the sender check's address), every submitted record one, every checksummed address
 * one. ethers lets the implementation be swapped (`keccak256.register`, docs.ethers.org v6 "Cryptographic
 * Functions"), and this does that once per process — only when the native binding loads; otherwise
 * ethers keeps its own (the package's own JS fallback is slower than noble's).
 */
let state: { native: boolean; loadError?: string } | undefined;

export function useNativeKeccak(): { native: boolean; loadError?: string } {
  if (state) return state;
  try {
    // keccak/bindings loads the prebuilt N-API binary (node-gyp-build) and throws when it cannot.
    const createKeccak = require('keccak/bindings') as (algorithm: 'keccak256') => { update(data: Buffer): { digest(): Buffer } };
    // The binding takes Buffers only: a view on the same memory, no copy.
    keccak256.register((data: Uint8Array) => new Uint8Array(createKeccak('keccak256').update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest()));
    state = { native: true };
  } catch (error) {
    state = { native: false, loadError: error instanceof Error ? error.message : String(error) };
  }
  return state;
}
