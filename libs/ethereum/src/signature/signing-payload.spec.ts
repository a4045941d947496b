/**
 * The one-serialisation signing path (toSigningPayload → toLowSSignature → serializeSignedTransaction)
 * against ethers: Wallet.signTransaction byte for byte, buildSignedTransaction (ethers' own signed
 * serialisation) over randomised transactions, and the EIP-155 spec vector.
 */
import { randomBytes } from 'node:crypto';
import { Transaction, Wallet, getBytes, hexlify, keccak256 } from 'ethers';
import * as nativeSecp from 'secp256k1';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import { bigIntToBytes, bytesToBigInt, isAtMostHalfN, isScalarInRange, subtractFromN } from './curve';
import {
  InvalidTransactionError,
  SECP256K1_HALF_N,
  SECP256K1_N,
  buildSignedTransaction,
  isLowS,
  toSigningPayload,
  serializeSignedTransaction,
  toEthereumSignature,
  toEthersTransaction,
  toLowSSignature,
  unsignedDigest,
  type LowSSignature,
} from './index';

// ethereum/EIPs EIPS/eip-155.md example (research/backend-apis.md §E.5).
const EIP155_KEY = '0x' + '46'.repeat(32);
const EIP155_TX: UnsignedTransaction = { type: 0, chainId: 1, nonce: 9, gasPrice: '0x4a817c800', gasLimit: '0x5208', to: '0x' + '35'.repeat(20), value: '0xde0b6b3a7640000', data: '0x' };
const EIP155_SIGNING_HASH = '0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53';
const EIP155_SIGNED =
  '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';

/** What a PKCS#11 token returns: r‖s without a recovery id, the high-s twin when asked. */
function hsmSign(digest: Uint8Array, priv: Uint8Array, highS: boolean): Uint8Array {
  const { signature } = nativeSecp.ecdsaSign(digest, priv);
  if (!highS) return signature;
  const out = Uint8Array.from(signature);
  out.set(bigIntToBytes(SECP256K1_N - bytesToBigInt(signature.subarray(32))), 32);
  return out;
}

/** Deterministic pseudo-random source, so a failing case can be replayed from its seed. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
  const pick = <T>(items: readonly T[]) => items[next() % items.length];
  return { next, bytes, pick };
}

function randomUnsigned(rand: ReturnType<typeof prng>): UnsignedTransaction {
  const type = rand.pick([0, 1, 2] as const);
  const quantity = () => {
    const length = rand.pick([0, 1, 2, 8, 20, 32]);
    const n = bytesToBigInt(rand.bytes(length));
    return '0x' + n.toString(16);
  };
  const accessList = () =>
    Array.from({ length: rand.pick([0, 1, 3]) }, () => ({
      address: hexlify(rand.bytes(20)),
      storageKeys: Array.from({ length: rand.pick([0, 1, 2]) }, () => hexlify(rand.bytes(32))),
    }));
  const base = {
    chainId: rand.pick([1, 5, 137, 31337, 2 ** 32 + 7, 2 ** 50]),
    nonce: rand.pick([0, 1, 127, 128, 255, 256, 2 ** 31, 2 ** 53 - 1]),
    to: rand.pick([null, hexlify(rand.bytes(20))]),
    value: quantity(),
    // 1 byte (maybe 0x00 or < 0x80), 55/56 bytes (RLP short/long string boundary), long lists
    data: hexlify(rand.bytes(rand.pick([0, 1, 55, 56, 300, 1500]))),
    gasLimit: quantity(),
  };
  if (type === 2) {
    const maxFeePerGas = quantity();
    const maxPriorityFeePerGas = '0x' + (BigInt(maxFeePerGas) / BigInt(1 + (rand.next() % 3))).toString(16); // ethers: priority ≤ max
    return { ...base, type, maxFeePerGas, maxPriorityFeePerGas, ...(rand.next() % 2 ? { accessList: accessList() } : {}) };
  }
  if (type === 1) return { ...base, type, gasPrice: quantity(), ...(rand.next() % 2 ? { accessList: accessList() } : {}) };
  return { ...base, type, gasPrice: quantity() };
}

describe('toSigningPayload', () => {
  it('gives the EIP-155 spec signing hash and the same digest as unsignedDigest', () => {
    const payload = toSigningPayload(EIP155_TX);
    expect(hexlify(payload.digest)).toBe(EIP155_SIGNING_HASH);
    expect(hexlify(payload.unsignedSerialized)).toBe(toEthersTransaction(EIP155_TX).unsignedSerialized);
    expect(payload).toMatchObject({ type: 0, chainId: 1n });
  });

  it('refuses transaction types this path does not serialise', () => {
    const blob = new Transaction();
    blob.type = 4;
    expect(() => toSigningPayload(blob)).toThrow(InvalidTransactionError);
  });
});

describe('serializeSignedTransaction', () => {
  it('turns the EIP-155 vector into the spec signed transaction, from the low-s signature or its high-s twin', () => {
    const priv = getBytes(EIP155_KEY);
    const pub = nativeSecp.publicKeyCreate(priv, false);
    const payload = toSigningPayload(EIP155_TX);
    for (const highS of [false, true]) {
      const signed = serializeSignedTransaction(payload, toLowSSignature(payload.digest, hsmSign(payload.digest, priv, highS), pub));
      expect(signed).toEqual({ raw: EIP155_SIGNED, hash: keccak256(EIP155_SIGNED) });
    }
  });

  const wallet = new Wallet('0x' + '11'.repeat(32));
  const priv = getBytes(wallet.privateKey);
  const pub = nativeSecp.publicKeyCreate(priv, false);
  const base = { chainId: 31337, nonce: 7, to: '0x' + 'ab'.repeat(20), value: '0x2386f26fc10000', data: '0xdeadbeef', gasLimit: '0x186a0' };
  const cases: Array<[string, UnsignedTransaction]> = [
    ['type 0 (EIP-155)', { ...base, type: 0, gasPrice: '0x3b9aca00' }],
    ['type 1 (EIP-2930)', { ...base, type: 1, gasPrice: '0x3b9aca00', accessList: [{ address: '0x' + 'cd'.repeat(20), storageKeys: ['0x' + '00'.repeat(31) + '01'] }] }],
    ['type 2 (EIP-1559)', { ...base, type: 2, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' }],
    ['type 2 contract creation, zero value and nonce', { ...base, nonce: 0, value: '0x0', to: null, type: 2, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x0' }],
  ];
  it.each(cases)('%s: byte for byte what ethers Wallet signs', async (_name, unsigned) => {
    const payload = toSigningPayload(unsigned);
    for (const highS of [false, true]) {
      const signed = serializeSignedTransaction(payload, toLowSSignature(payload.digest, hsmSign(payload.digest, priv, highS), pub));
      const tx = toEthersTransaction(unsigned);
      expect(signed.raw).toBe(await wallet.signTransaction(tx));
      expect(signed.hash).toBe(Transaction.from(signed.raw).hash);
      expect(Transaction.from(signed.raw).from).toBe(wallet.address);
    }
  });

  it('equals ethers’ own signed serialisation over 400 randomised transactions (all types, boundary sizes, both parities)', () => {
    const rand = prng(0x5eed);
    const seen = { types: new Set<number>(), parity: new Set<number>(), flipped: 0 };
    for (let i = 0; i < 400; i++) {
      const unsigned = randomUnsigned(rand);
      const payload = toSigningPayload(unsigned);
      expect(payload.digest).toEqual(unsignedDigest(unsigned));
      const raw = hsmSign(payload.digest, priv, i % 2 === 1);
      const low = toLowSSignature(payload.digest, raw, pub);
      if (!isLowS(raw.subarray(32))) seen.flipped++;
      const signed = serializeSignedTransaction(payload, low);
      expect({ i, ...signed }).toEqual({ i, ...buildSignedTransaction(unsigned, toEthereumSignature(payload.digest, raw, pub)) });
      seen.types.add(unsigned.type);
      seen.parity.add(low.yParity);
      if (i % 40 === 0) expect(Transaction.from(signed.raw).from).toBe(wallet.address); // JS recovery: a sample is enough
    }
    expect([...seen.types].sort()).toEqual([0, 1, 2]);
    expect([...seen.parity].sort()).toEqual([0, 1]);
    expect(seen.flipped).toBe(200);
  });

  it('encodes r and s without leading zero bytes, as RLP integers', () => {
    const unsigned = cases[2][1];
    const payload = toSigningPayload(unsigned);
    // ~1 in 256 signatures has a leading zero in r or s: sign random nonces until both occur.
    const found = { r: 0, s: 0 };
    for (let nonce = 0; (found.r < 1 || found.s < 1) && nonce < 20_000; nonce++) {
      const p = toSigningPayload({ ...unsigned, nonce });
      const low = toLowSSignature(p.digest, hsmSign(p.digest, priv, false), pub);
      if (low.r[0] !== 0 && low.s[0] !== 0) continue;
      if (low.r[0] === 0) found.r++;
      if (low.s[0] === 0) found.s++;
      const ethersSig = { r: hexlify(low.r), s: hexlify(low.s), yParity: low.yParity };
      expect(serializeSignedTransaction(p, low)).toEqual(buildSignedTransaction({ ...unsigned, nonce }, ethersSig));
    }
    expect(found.r).toBeGreaterThanOrEqual(1);
    expect(found.s).toBeGreaterThanOrEqual(1);
    expect(payload.type).toBe(2);
  });

  it('serialises a legacy transaction without chain id (v = 27/28) like ethers', () => {
    const tx = toEthersTransaction(EIP155_TX);
    tx.chainId = 0n;
    const payload = toSigningPayload(tx);
    const priv46 = getBytes(EIP155_KEY);
    const low = toLowSSignature(payload.digest, hsmSign(payload.digest, priv46, false), nativeSecp.publicKeyCreate(priv46, false));
    const signed = serializeSignedTransaction(payload, low);
    const reference = toEthersTransaction(EIP155_TX);
    reference.chainId = 0n;
    expect(signed).toEqual(buildSignedTransaction(reference, { r: hexlify(low.r), s: hexlify(low.s), yParity: low.yParity }));
    expect(Transaction.from(signed.raw).signature?.v).toBe(27 + low.yParity);
  });

  const one = bigIntToBytes(1n);
  const bad: Array<[string, LowSSignature]> = [
    ['a high s', { r: one, s: bigIntToBytes(SECP256K1_HALF_N + 1n), yParity: 0 }],
    ['r = 0', { r: new Uint8Array(32), s: one, yParity: 0 }],
    ['r = n', { r: bigIntToBytes(SECP256K1_N), s: one, yParity: 0 }],
    ['a 31-byte s', { r: one, s: new Uint8Array(31).fill(1), yParity: 0 }],
    ['yParity 2', { r: one, s: one, yParity: 2 as 0 }],
  ];
  it.each(bad)('refuses %s', (_name, sig) => {
    expect(() => serializeSignedTransaction(toSigningPayload(EIP155_TX), sig)).toThrow(InvalidTransactionError);
  });
});

describe('32-byte scalar helpers', () => {
  it('agree with BigInt arithmetic, at the edges and on random values', () => {
    const edges = [1n, 2n, SECP256K1_HALF_N - 1n, SECP256K1_HALF_N, SECP256K1_HALF_N + 1n, SECP256K1_N - 1n];
    const values = [...edges, ...Array.from({ length: 500 }, () => (bytesToBigInt(randomBytes(32)) % (SECP256K1_N - 1n)) + 1n)];
    for (const v of values) {
      const bytes = bigIntToBytes(v);
      expect(bytesToBigInt(subtractFromN(bytes))).toBe(SECP256K1_N - v);
      expect(isAtMostHalfN(bytes)).toBe(v <= SECP256K1_HALF_N);
      expect(isScalarInRange(bytes)).toBe(true);
    }
    for (const v of [0n, SECP256K1_N, SECP256K1_N + 1n, 2n ** 256n - 1n]) expect(isScalarInRange(bigIntToBytes(v))).toBe(false);
    // other lengths take the BigInt path
    expect(isScalarInRange(Uint8Array.from([5]))).toBe(true);
    expect(isAtMostHalfN(new Uint8Array(33))).toBe(true);
    expect(bytesToBigInt(new Uint8Array(0))).toBe(0n);
    expect(bytesToBigInt(Uint8Array.from([1, 0]).subarray(1))).toBe(0n);
  });
});
