import { keccak256, Wallet } from 'ethers';
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
