import { Wallet } from 'ethers';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import { checkEthsignResult, EthsignMismatchError, EthsignUnsupportedError, toEthsignRequest, unwrapVaultError } from './ethsign-request';

const base: UnsignedTransaction = {
  type: 0,
  chainId: 1,
  nonce: 9,
  to: '0x3535353535353535353535353535353535353535',
  value: '0xde0b6b3a7640000',
  data: '0x',
  gasLimit: '0x5208',
  gasPrice: '0x4a817c800',
};

describe('ethsign request mapping (research/backend-apis.md §A.3)', () => {
  it('sends decimal strings, lowercase addresses, data "0x" and always the chain id', () => {
    expect(toEthsignRequest({ ...base, to: '0xAbCdEF0000000000000000000000000000000001', data: '' })).toEqual({
      to: '0xabcdef0000000000000000000000000000000001',
      data: '0x',
      value: '1000000000000000000',
      nonce: '9',
      gas: '21000',
      gasPrice: '20000000000',
      chainId: '1',
    });
    expect(toEthsignRequest({ ...base, to: null, data: '0x6000' })).toMatchObject({ to: '', data: '0x6000' });
    // Beyond 2^53 and beyond 1e21 stays exact (JSON numbers would not, §A.3).
    expect(toEthsignRequest({ ...base, value: '0x' + 'f'.repeat(30) }).value).toBe(BigInt('0x' + 'f'.repeat(30)).toString());
  });

  it('refuses typed transactions and access lists', () => {
    expect(() => toEthsignRequest({ ...base, type: 2, gasPrice: undefined, maxFeePerGas: '0x2', maxPriorityFeePerGas: '0x1' })).toThrow(EthsignUnsupportedError);
    expect(() => toEthsignRequest({ ...base, type: 1, accessList: [] })).toThrow(/type 1/);
    expect(() => toEthsignRequest({ ...base, gasPrice: undefined })).toThrow(/gasPrice/);
  });

  it('accepts the plugin result only when every field is the one requested', async () => {
    const wallet = new Wallet('0x4646464646464646464646464646464646464646464646464646464646464646');
    const sign = (over: { gasPrice?: bigint; nonce?: number } = {}) =>
      wallet.signTransaction({ type: 0, chainId: 1n, nonce: 9, to: base.to, value: 10n ** 18n, data: '0x', gasLimit: 21000n, gasPrice: 20000000000n, ...over });
    const good = await sign();
    expect(checkEthsignResult(good, base)).toBe(good);
    // The EIP-155 spec vector (§E.5) is what the plugin returns for this request.
    expect(good).toBe(
      '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83',
    );
    // What the plugin does with an EIP-1559 request passed through blindly: legacy with gas price 0 (§A.4).
    const zeroPrice = await sign({ gasPrice: 0n });
    expect(() => checkEthsignResult(zeroPrice, base)).toThrow(/gasPrice 0 ≠ 20000000000/);
    const otherNonce = await sign({ nonce: 10 });
    expect(() => checkEthsignResult(otherNonce, base)).toThrow(/nonce 10 ≠ 9/);
    expect(() => checkEthsignResult(undefined, base)).toThrow(EthsignMismatchError);
    expect(() => checkEthsignResult('0x1234', base)).toThrow(/unparseable/);
  });

  it('unwraps go-multierror text', () => {
    expect(unwrapVaultError('1 error occurred:\n\t* Account does not exist\n\n')).toBe('Account does not exist');
    expect(unwrapVaultError('2 errors occurred:\n\t* a\n\t* b\n\n')).toBe('a; b');
    expect(unwrapVaultError('permission denied')).toBe('permission denied');
  });
});
