import { ContractViolationError, parseSignTransactionRequest, parseAllocateNonceRequest, Routes } from './index';

describe('contract validation', () => {
  const tx = { type: 2, chainId: 31337, nonce: 0, to: '0x' + 'AB'.repeat(20), value: '0x0', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x1' };

  it('accepts a valid sign request and lower-cases addresses', () => {
    const parsed = parseSignTransactionRequest({ from: '0x' + 'CD'.repeat(20), key: { backendId: 'pkcs11', keyId: '01' }, tx });
    expect(parsed.from).toBe('0x' + 'cd'.repeat(20));
    expect(parsed.tx.to).toBe('0x' + 'ab'.repeat(20));
  });

  it('names the offending field', () => {
    expect(() => parseSignTransactionRequest({ from: '0x12', key: { backendId: 'x', keyId: 'y' }, tx })).toThrow(
      new ContractViolationError('from', 'a 0x-prefixed 20-byte address'),
    );
    expect(() => parseSignTransactionRequest({ from: '0x' + '00'.repeat(20), key: { backendId: 'x', keyId: 'y' }, tx: { ...tx, value: '0x01' } })).toThrow(
      /tx\.value must be a 0x-prefixed hex quantity/,
    );
  });

  it('drops unknown fields and keeps optional ones optional', () => {
    const parsed = parseAllocateNonceRequest({ chainId: 1, address: '0x' + '11'.repeat(20), extra: true });
    expect(parsed).toEqual({ chainId: 1, address: '0x' + '11'.repeat(20) });
  });

  it('routes carry both parsers', () => {
    expect(Routes.nonceAllocate.subject).toBe('hsm.v1.nonce.allocate');
    expect(() => Routes.nonceAllocate.reply({ transactionId: 'x' })).toThrow(/nonce/);
  });
});
