import { randomBytes } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3';
import { hexlify, keccak256 } from 'ethers';
import { useNativeKeccak } from './native-keccak';

describe('native keccak for ethers', () => {
  it('loads the native binding on this machine and registers it with ethers', () => {
    expect(useNativeKeccak()).toEqual({ native: true });
  });

  it('hashes exactly as noble does, for empty input, the known vector and random inputs of every length up to 300 bytes', () => {
    useNativeKeccak();
    expect(keccak256(new Uint8Array(0))).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    for (let length = 0; length <= 300; length++) {
      const data = randomBytes(length);
      expect(keccak256(data)).toBe(hexlify(keccak_256(data)));
    }
  });
});
