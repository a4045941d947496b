import { keccak256, toQuantity, Transaction, Wallet } from 'ethers';
import { decodeRawTransaction } from './raw-transaction';

const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const to = '0x' + 'ab'.repeat(20);

describe('decodeRawTransaction', () => {
  it('decodes an EIP-1559 transaction into the ledger fields', async () => {
    const raw = await wallet.signTransaction({ type: 2, chainId: 31337, nonce: 7, to, value: 10n, data: '0x1234', gasLimit: 50_000n, maxFeePerGas: 3n, maxPriorityFeePerGas: 1n });
    expect(decodeRawTransaction(raw)).toEqual({
      hash: keccak256(raw),
      type: 2,
      chainId: 31337,
      nonce: 7,
      fields: { to, value: '0xa', data: '0x1234', gasLimit: '0xc350', maxFeePerGas: '0x3', maxPriorityFeePerGas: '0x1' },
    });
  });

  it('decodes a legacy EIP-155 contract creation', async () => {
    const raw = await wallet.signTransaction({ type: 0, chainId: 1, nonce: 0, to: null, value: 0n, data: '0x6000', gasLimit: 100_000n, gasPrice: 5n });
    const decoded = decodeRawTransaction(raw);
    expect(decoded).toMatchObject({ type: 0, chainId: 1, nonce: 0, fields: { to: null, value: '0x0', gasPrice: '0x5' } });
  });

  it('refuses bytes that are not a signed transaction', () => {
    expect(() => decodeRawTransaction('0x1234')).toThrow(/raw is not a signed Ethereum transaction/);
  });
});

describe('decodeRawTransaction agrees with ethers on every type', () => {
  it.each([
    { type: 0 as const, chainId: 1, gasPrice: 7n },
    { type: 0 as const, chainId: 11_297_108_109, gasPrice: 7n },
    { type: 1 as const, chainId: 5, gasPrice: 9n, accessList: [{ address: to, storageKeys: ['0x' + '01'.repeat(32)] }] },
    { type: 2 as const, chainId: 31337, maxFeePerGas: 10n ** 20n, maxPriorityFeePerGas: 0n, accessList: [{ address: to, storageKeys: [] }] },
  ])('type $type chain $chainId', async (extra) => {
    const raw = await wallet.signTransaction({ nonce: 123_456, to, value: 10n ** 21n, data: '0xdeadbeef', gasLimit: 30_000_000n, ...extra });
    const tx = Transaction.from(raw);
    const decoded = decodeRawTransaction(raw);
    expect(decoded.hash).toBe(tx.hash);
    expect(decoded).toMatchObject({ type: tx.type, chainId: Number(tx.chainId), nonce: tx.nonce });
    expect(decoded.fields).toMatchObject({ to: tx.to!.toLowerCase(), value: toQuantity(tx.value), data: tx.data, gasLimit: toQuantity(tx.gasLimit) });
    if (tx.type === 2) expect(decoded.fields).toMatchObject({ maxFeePerGas: toQuantity(tx.maxFeePerGas!), maxPriorityFeePerGas: toQuantity(tx.maxPriorityFeePerGas!) });
    else expect(decoded.fields.gasPrice).toBe(toQuantity(tx.gasPrice!));
    if (extra.accessList && extra.accessList[0].storageKeys.length) expect(decoded.fields.accessList).toEqual(extra.accessList);
  });

  it('refuses an unknown envelope type and a truncated list', () => {
    expect(() => decodeRawTransaction('0x05c0')).toThrow(/unsupported transaction type 0x5/);
    expect(() => decodeRawTransaction('0x02c3010203')).toThrow(/expected an RLP list of 12 items/);
  });
});
