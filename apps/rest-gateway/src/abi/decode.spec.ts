import { AbiCoder, FunctionFragment, Interface } from 'ethers';
import { RestErrorCode } from '../errors';
import { decodeInputArgs, formatOutputs, resolveTarget } from './index';
import { thrownRestError, TOKEN_ABI } from './spec-helpers';

const iface = new Interface(TOKEN_ABI);
const fn = (name: string) => resolveTarget(TOKEN_ABI, name).fragment as FunctionFragment;
const coder = AbiCoder.defaultAbiCoder();
const CHECKSUMMED = '0x52908400098527886E0F7030069857D2E4169EE7';

describe('formatOutputs (research/rest-gateway.md §3.2)', () => {
  it('keys a single unnamed output "output" and gives uint256 above 2^53 as an exact decimal string', () => {
    const data = iface.encodeFunctionResult('balanceOf', [2n ** 200n + 1n]);
    expect(formatOutputs(fn('balanceOf'), data)).toEqual({ output: (2n ** 200n + 1n).toString() });
  });

  it('keys named outputs by name and unnamed ones output1, output2 by position; negative ints, bytes32 lowercase', () => {
    const data = iface.encodeFunctionResult('pair', [-123456789012345678901234567890n, `0x${'AB'.repeat(32)}`, 'ok']);
    expect(formatOutputs(fn('pair'), data)).toEqual({ sum: '-123456789012345678901234567890', output1: `0x${'ab'.repeat(32)}`, output2: 'ok' });
  });

  it('gives bool as a JSON boolean', () => {
    expect(formatOutputs(fn('transfer'), iface.encodeFunctionResult('transfer(address,uint256)', [true]))).toEqual({ output: true });
  });

  it('gives tuples as objects keyed by component names, nested, with arrays and lowercase addresses', () => {
    const data = iface.encodeFunctionResult('place', [[7n, [CHECKSUMMED], [[-1n, '0xDEADBEEF'], [2n, '0x00000001']]]]);
    expect(formatOutputs(fn('place'), data)).toEqual({
      receipt: {
        id: '7',
        owners: [CHECKSUMMED.toLowerCase()],
        legs: [
          { delta: '-1', tag: '0xdeadbeef' },
          { delta: '2', tag: '0x00000001' },
        ],
      },
    });
  });

  it('keys unnamed tuple components by position', () => {
    const f = FunctionFragment.from({ type: 'function', name: 'g', inputs: [], outputs: [{ name: 't', type: 'tuple', components: [{ name: '', type: 'uint8' }, { name: 'b', type: 'bytes' }] }] });
    expect(formatOutputs(f, coder.encode(['(uint8,bytes)'], [[3, '0x']]))).toEqual({ t: { '0': '3', b: '0x' } });
  });

  it('does not let an output named __proto__ reach the prototype', () => {
    const f = FunctionFragment.from({ type: 'function', name: 'g', inputs: [], outputs: [{ name: '__proto__', type: 'uint8' }] });
    const out = formatOutputs(f, coder.encode(['uint8'], [1])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('1');
  });

  it('answers null for a function without outputs, and for empty return data (ethconnect quirk, §2.3)', () => {
    expect(formatOutputs(fn('ping'), '0x')).toBeNull();
    expect(formatOutputs(fn('ping'), coder.encode(['uint256'], [1]))).toBeNull();
    expect(formatOutputs(fn('balanceOf'), '0x')).toBeNull();
  });

  it('returns ethconnect\'s {rlp, raw, error} object when the data does not decode', () => {
    expect(formatOutputs(fn('balanceOf'), '0x01')).toEqual({
      rlp: '01',
      raw: '0x01',
      error: "Failed to decode the return data of 'balanceOf' as (uint256): data out-of-bounds",
    });
    expect(formatOutputs(fn('balanceOf'), 'nothex')).toEqual({
      raw: 'nothex',
      error: "Failed to decode the return data of 'balanceOf' as (uint256): the data is not 0x-prefixed hex",
    });
  });

  it('reports an address with dirty high bytes as a decode failure, not a throw', () => {
    const out = formatOutputs(FunctionFragment.from('function owner() view returns (address)'), `0x${'f'.repeat(64)}`);
    expect(out).toMatchObject({ rlp: 'f'.repeat(64), raw: `0x${'f'.repeat(64)}` });
    expect((out as { error: string }).error).toMatch(/^Failed to decode the return data of 'owner' as \(address\): /);
  });
});

describe('decodeInputArgs (research/rest-gateway.md §2.4)', () => {
  it('decodes a transaction input keyed by input names', () => {
    const input = iface.encodeFunctionData('transfer(address,uint256)', [CHECKSUMMED, 2n ** 64n]);
    expect(decodeInputArgs(fn('transfer'), input)).toEqual({ to: CHECKSUMMED.toLowerCase(), amount: '18446744073709551616' });
  });

  it('keys unnamed inputs input, input1 as the caller sent them', () => {
    expect(decodeInputArgs(fn('pair'), iface.encodeFunctionData('pair', [1, -2]))).toEqual({ a: '1', input1: '-2' });
    expect(decodeInputArgs(fn('balanceOf'), iface.encodeFunctionData('balanceOf', [CHECKSUMMED]))).toEqual({ input: CHECKSUMMED.toLowerCase() });
  });

  it('accepts an uppercase selector', () => {
    const input = iface.encodeFunctionData('ping', []);
    expect(decodeInputArgs(fn('ping'), input.toUpperCase().replace('0X', '0x'))).toEqual({});
  });

  it('answers 500 TransactionMethodMismatch when the input calls another method', () => {
    const input = iface.encodeFunctionData('balanceOf', [CHECKSUMMED]);
    expect(thrownRestError(() => decodeInputArgs(fn('transfer'), input))).toMatchObject({
      status: 500,
      code: RestErrorCode.TransactionMethodMismatch,
      message: "The transaction does not call method 'transfer(address,uint256)': its input starts with 0x70a08231, the method's selector is 0xa9059cbb",
    });
    expect(thrownRestError(() => decodeInputArgs(fn('transfer'), '0x'))).toMatchObject({
      status: 500,
      code: RestErrorCode.TransactionMethodMismatch,
      message: "The transaction does not call method 'transfer(address,uint256)': its input starts with no 4-byte selector, the method's selector is 0xa9059cbb",
    });
  });

  it('returns the failure object when the arguments after the selector do not decode', () => {
    const selector = fn('transfer').selector;
    expect(decodeInputArgs(fn('transfer'), `${selector}00`)).toEqual({
      rlp: '00',
      raw: '0x00',
      error: "Failed to decode the input of 'transfer' as (address,uint256): data out-of-bounds",
    });
  });
});
