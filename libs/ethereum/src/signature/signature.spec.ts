import { randomBytes } from 'node:crypto';
import { Transaction, Wallet, getBytes, hexlify, keccak256 } from 'ethers';
import * as nativeSecp from 'secp256k1';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import {
  InvalidPublicKeyError,
  InvalidTransactionError,
  MalformedSignatureError,
  RecoveryIdNotFoundError,
  SECP256K1_HALF_N,
  SECP256K1_N,
  SenderMismatchError,
  buildSignedTransaction,
  findRecoveryId,
  isLowS,
  legacyV,
  normalizeS,
  parseBackendSignature,
  parseDerSignature,
  parseP1363Signature,
  parsePublicKey,
  publicKeyToAddress,
  secp256k1Implementation,
  toEthereumSignature,
  unsignedDigest,
  verifySignedTransactionSender,
} from './index';
import { bigIntToBytes, bytesToBigInt } from './curve';

// ethereum/EIPs EIPS/eip-155.md example (research/backend-apis.md §E.5).
const EIP155_KEY = '0x' + '46'.repeat(32);
const EIP155_SENDER = '0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f';
const EIP155_TX: UnsignedTransaction = {
  type: 0,
  chainId: 1,
  nonce: 9,
  gasPrice: '0x4a817c800', // 20 gwei
  gasLimit: '0x5208', // 21000
  to: '0x' + '35'.repeat(20),
  value: '0xde0b6b3a7640000', // 1 ether
  data: '0x',
};
const EIP155_SIGNING_HASH = '0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53';
const EIP155_SIGNED =
  '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';

function key(hex: string) {
  const priv = getBytes(hex);
  return { priv, pub: nativeSecp.publicKeyCreate(priv, false) };
}

/** What a PKCS#11 token returns: r‖s with no recovery id, high s about half of the time. */
function hsmSign(digest: Uint8Array, priv: Uint8Array, forceHighS = false): { p1363: Uint8Array; recid: number } {
  const { signature, recid } = nativeSecp.ecdsaSign(digest, priv);
  if (!forceHighS) return { p1363: signature, recid };
  const out = Uint8Array.from(signature);
  out.set(bigIntToBytes(SECP256K1_N - bytesToBigInt(signature.subarray(32))), 32);
  return { p1363: out, recid: recid ^ 1 };
}

function derInt(v: Uint8Array): number[] {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const digits = Array.from(v.subarray(i));
  if (digits[0] & 0x80) digits.unshift(0);
  return [0x02, digits.length, ...digits];
}
function toDer(p1363: Uint8Array): Uint8Array {
  const body = [...derInt(p1363.subarray(0, 32)), ...derInt(p1363.subarray(32))];
  return Uint8Array.from([0x30, body.length, ...body]);
}

describe('native secp256k1', () => {
  it('is the native libsecp256k1 binding, not the elliptic.js fallback', () => {
    expect(secp256k1Implementation()).toEqual({ native: true });
  });
});

describe('EIP-155 spec vector', () => {
  const { priv, pub } = key(EIP155_KEY);

  it('computes the spec signing hash for the legacy EIP-155 transaction', () => {
    expect(hexlify(unsignedDigest(EIP155_TX))).toBe(EIP155_SIGNING_HASH);
  });

  it('turns a raw r||s into the spec signed transaction with v = 37', () => {
    const digest = unsignedDigest(EIP155_TX);
    const sig = toEthereumSignature(digest, hsmSign(digest, priv).p1363, pub);
    const signed = buildSignedTransaction(EIP155_TX, sig);
    expect(signed.raw).toBe(EIP155_SIGNED);
    expect(signed.hash).toBe(keccak256(EIP155_SIGNED));
    expect(legacyV(sig.yParity, 1)).toBe(37n);
    expect(Transaction.from(signed.raw).signature?.networkV).toBe(37n);
    expect(Transaction.from(signed.raw).from?.toLowerCase()).toBe(EIP155_SENDER);
  });

  it('gives the same signed transaction when the HSM returned the high-s twin', () => {
    const digest = unsignedDigest(EIP155_TX);
    const { p1363 } = hsmSign(digest, priv, true);
    expect(isLowS(p1363.subarray(32))).toBe(false);
    const signed = buildSignedTransaction(EIP155_TX, toEthereumSignature(digest, p1363, pub));
    expect(signed.raw).toBe(EIP155_SIGNED);
  });

  it('derives the spec sender address from the public key', () => {
    expect(publicKeyToAddress(pub)).toBe(EIP155_SENDER);
  });
});

describe('typed transactions match ethers Wallet byte for byte', () => {
  const wallet = new Wallet('0x' + '11'.repeat(32));
  const { priv, pub } = key(wallet.privateKey);
  const base = { chainId: 31337, nonce: 7, to: '0x' + 'ab'.repeat(20), value: '0x2386f26fc10000', data: '0xdeadbeef', gasLimit: '0x186a0' };
  const cases: Array<[string, UnsignedTransaction]> = [
    ['type 0 (EIP-155)', { ...base, type: 0, gasPrice: '0x3b9aca00' }],
    ['type 1 (EIP-2930)', { ...base, type: 1, gasPrice: '0x3b9aca00', accessList: [{ address: '0x' + 'cd'.repeat(20), storageKeys: ['0x' + '00'.repeat(31) + '01'] }] }],
    ['type 2 (EIP-1559)', { ...base, type: 2, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' }],
    ['type 2 contract creation', { ...base, to: null, type: 2, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x1' }],
  ];

  it.each(cases)('%s', async (_name, unsigned) => {
    const digest = unsignedDigest(unsigned);
    for (const highS of [false, true]) {
      const signed = buildSignedTransaction(unsigned, toEthereumSignature(digest, hsmSign(digest, priv, highS).p1363, pub));
      const expected = await wallet.signTransaction(Transaction.from({ ...toEthersFields(unsigned) }));
      expect(signed.raw).toBe(expected);
      const parsed = Transaction.from(signed.raw);
      expect(parsed.type).toBe(unsigned.type);
      expect(parsed.from?.toLowerCase()).toBe(wallet.address.toLowerCase());
      expect(verifySignedTransactionSender(signed.raw, wallet.address)).toEqual(signed);
    }
  });

  function toEthersFields(u: UnsignedTransaction) {
    return {
      type: u.type,
      chainId: u.chainId,
      nonce: u.nonce,
      to: u.to,
      value: BigInt(u.value),
      data: u.data,
      gasLimit: BigInt(u.gasLimit),
      gasPrice: u.type === 2 ? undefined : BigInt(u.gasPrice!),
      maxFeePerGas: u.type === 2 ? BigInt(u.maxFeePerGas!) : undefined,
      maxPriorityFeePerGas: u.type === 2 ? BigInt(u.maxPriorityFeePerGas!) : undefined,
      accessList: u.type === 0 ? undefined : (u.accessList ?? []),
    };
  }
});

describe('recovery id', () => {
  it('finds both recovery ids over many signatures, each after low-s normalisation', () => {
    const { priv, pub } = key(hexlify(randomBytes(32)));
    const seen = { 0: 0, 1: 0 };
    for (let i = 0; i < 200; i++) {
      const digest = randomBytes(32);
      const { p1363, recid } = hsmSign(digest, priv, i % 2 === 1);
      const sig = toEthereumSignature(digest, p1363, pub);
      expect(isLowS(getBytes(sig.s))).toBe(true);
      // normalising a high-s signature flips the parity back to the low-s recovery id
      expect(sig.yParity).toBe(i % 2 === 1 ? recid ^ 1 : recid);
      seen[sig.yParity]++;
    }
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
  });

  it('fails hard with RecoveryIdNotFoundError when the signature belongs to another key', () => {
    const a = key(hexlify(randomBytes(32)));
    const b = key(hexlify(randomBytes(32)));
    const digest = randomBytes(32);
    expect(() => toEthereumSignature(digest, hsmSign(digest, a.priv).p1363, b.pub)).toThrow(RecoveryIdNotFoundError);
  });

  it('fails hard when the digest differs from the one signed', () => {
    const a = key(hexlify(randomBytes(32)));
    const digest = randomBytes(32);
    const { p1363 } = hsmSign(digest, a.priv);
    const other = Uint8Array.from(digest);
    other[0] ^= 1;
    expect(() => findRecoveryId(other, parseP1363Signature(p1363), a.pub)).toThrow(RecoveryIdNotFoundError);
  });
});

describe('low-s normalisation', () => {
  it('maps s > n/2 to n - s and leaves low s alone', () => {
    const r = bigIntToBytes(5n);
    const high = normalizeS({ r, s: bigIntToBytes(SECP256K1_HALF_N + 1n) });
    expect(high.flipped).toBe(true);
    expect(bytesToBigInt(high.s)).toBe(SECP256K1_N - SECP256K1_HALF_N - 1n);
    const edge = normalizeS({ r, s: bigIntToBytes(SECP256K1_HALF_N) });
    expect(edge.flipped).toBe(false);
  });
});

describe('signature parsing', () => {
  it('splits P1363 at byte 32 and rejects other lengths and out-of-range values', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
    const { r, s } = parseP1363Signature(bytes);
    expect(Array.from(r)).toEqual(Array.from(bytes.subarray(0, 32)));
    expect(Array.from(s)).toEqual(Array.from(bytes.subarray(32)));
    expect(() => parseP1363Signature(bytes.subarray(0, 63))).toThrow(MalformedSignatureError);
    expect(() => parseP1363Signature(new Uint8Array(64))).toThrow(/out of range/);
    expect(() => parseP1363Signature(Uint8Array.from([...bigIntToBytes(1n), ...bigIntToBytes(SECP256K1_N)]))).toThrow(/s is out of range/);
  });

  it('parses DER with 33-byte integers (sign byte) and pads short integers to 32', () => {
    const r = new Uint8Array(32);
    r[0] = 0x80; // high bit set → 33-byte DER INTEGER with a 00 sign byte
    r[31] = 0x01;
    const s = new Uint8Array(32);
    s[30] = 0x12;
    s[31] = 0x34; // → 2-byte DER INTEGER
    const der = toDer(Uint8Array.from([...r, ...s]));
    expect(der[3]).toBe(33);
    const parsed = parseDerSignature(der);
    expect(Array.from(parsed.r)).toEqual(Array.from(r));
    expect(parsed.s.length).toBe(32);
    expect(bytesToBigInt(parsed.s)).toBe(0x1234n);
    expect(parseBackendSignature(der)).toEqual(parsed);
  });

  it('turns real DER signatures with short r into valid Ethereum signatures', () => {
    const { priv, pub } = key(hexlify(randomBytes(32)));
    let shortR = 0;
    let longR = 0;
    for (let i = 0; (shortR < 2 || longR < 2) && i < 20_000; i++) {
      const digest = randomBytes(32);
      const { p1363 } = hsmSign(digest, priv, i % 2 === 0);
      const isShort = p1363[0] === 0;
      const isLong = (p1363[0] & 0x80) !== 0;
      if (!isShort && !isLong) continue;
      const der = toDer(p1363);
      const sig = toEthereumSignature(digest, der, pub);
      expect(getBytes(sig.r)).toHaveLength(32);
      expect(getBytes(sig.s)).toHaveLength(32);
      expect(isLowS(getBytes(sig.s))).toBe(true);
      if (isShort) shortR++;
      else longR++;
    }
    expect(shortR).toBeGreaterThanOrEqual(2);
    expect(longR).toBeGreaterThanOrEqual(2);
  });

  it('rejects malformed DER', () => {
    const good = toDer(Uint8Array.from([...bigIntToBytes(7n), ...bigIntToBytes(9n)]));
    expect(() => parseDerSignature(good.subarray(0, good.length - 1))).toThrow(MalformedSignatureError);
    expect(() => parseDerSignature(Uint8Array.from([...good, 0]))).toThrow(MalformedSignatureError);
    expect(() => parseDerSignature(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow(/two INTEGERs/);
    expect(() => parseDerSignature(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]))).toThrow(/negative/);
    const big = [0x02, 33, 0x01, ...new Array(32).fill(0)];
    expect(() => parseDerSignature(Uint8Array.from([0x30, big.length + 3, ...big, 0x02, 0x01, 0x01]))).toThrow(/does not fit/);
    expect(() => parseBackendSignature(new Uint8Array(65))).toThrow(/neither/);
  });

  it('accepts split r and s with dropped leading zeros (hex or bytes)', () => {
    const parsed = parseBackendSignature({ r: '0x01', s: Uint8Array.from([2]) });
    expect(bytesToBigInt(parsed.r)).toBe(1n);
    expect(parsed.r).toHaveLength(32);
    expect(bytesToBigInt(parsed.s)).toBe(2n);
  });
});

describe('public keys', () => {
  const { pub } = key(EIP155_KEY);
  const compressed = nativeSecp.publicKeyConvert(pub, true);
  const spki = Uint8Array.from([
    0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a, 0x03, 0x42, 0x00, ...pub,
  ]);

  it.each([
    ['CKA_EC_POINT DER OCTET STRING (04 41 04…)', Uint8Array.from([0x04, 0x41, ...pub])],
    ['raw 65-byte point', pub],
    ['compressed point', compressed],
    ['compressed point in an OCTET STRING', Uint8Array.from([0x04, 0x21, ...compressed])],
    ['SubjectPublicKeyInfo (KMS GetPublicKey)', spki],
  ])('parses %s', (_name, bytes) => {
    expect(Array.from(parsePublicKey(bytes))).toEqual(Array.from(pub));
    expect(publicKeyToAddress(bytes)).toBe(EIP155_SENDER);
  });

  it('rejects other curves, garbage and points not on the curve', () => {
    const p256 = Uint8Array.from(spki);
    p256.set([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07].slice(0, 7), 13); // corrupt the curve OID
    expect(() => parsePublicKey(p256)).toThrow(InvalidPublicKeyError);
    expect(() => parsePublicKey(new Uint8Array(10))).toThrow(InvalidPublicKeyError);
    const offCurve = Uint8Array.from(pub);
    offCurve[64] ^= 1;
    expect(() => parsePublicKey(offCurve)).toThrow(/not a point/);
  });
});

describe('transactions', () => {
  it('requires the fee fields of the type and rejects an access list on a legacy transaction', () => {
    const base = { chainId: 1, nonce: 0, to: null, value: '0x0', data: '0x', gasLimit: '0x5208' };
    expect(() => unsignedDigest({ ...base, type: 2, gasPrice: '0x1' })).toThrow(InvalidTransactionError);
    expect(() => unsignedDigest({ ...base, type: 0, maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x1' })).toThrow(/needs gasPrice/);
    expect(() => unsignedDigest({ ...base, type: 0, gasPrice: '0x1', accessList: [] })).toThrow(/access list/);
  });

  it('refuses to serialise a high-s signature', () => {
    expect(() => buildSignedTransaction(EIP155_TX, { r: hexlify(bigIntToBytes(1n)), s: hexlify(bigIntToBytes(SECP256K1_HALF_N + 1n)), yParity: 0 })).toThrow(/high-s/);
  });

  it('verifySignedTransactionSender rejects another sender', () => {
    expect(() => verifySignedTransactionSender(EIP155_SIGNED, '0x' + '00'.repeat(20))).toThrow(SenderMismatchError);
    expect(verifySignedTransactionSender(EIP155_SIGNED, EIP155_SENDER).hash).toBe(keccak256(EIP155_SIGNED));
  });
});
