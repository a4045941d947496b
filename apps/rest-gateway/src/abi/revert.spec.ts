import { AbiCoder, Interface } from 'ethers';
import { decodeRevertReason } from './index';
import { TOKEN_ABI } from './spec-helpers';

const coder = AbiCoder.defaultAbiCoder();
const errorString = (message: string) => `0x08c379a0${coder.encode(['string'], [message]).slice(2)}`;
const panic = (code: number) => `0x4e487b71${coder.encode(['uint256'], [code]).slice(2)}`;

describe('decodeRevertReason (research/rest-gateway.md §3.3)', () => {
  it('decodes Error(string), as ethconnect does', () => {
    expect(decodeRevertReason(errorString('ERC20: transfer amount exceeds balance'))).toBe('ERC20: transfer amount exceeds balance');
    expect(decodeRevertReason(errorString(''))).toBe('');
  });

  it.each([
    [0x11, 'Panic: arithmetic overflow (0x11)'],
    [0x01, 'Panic: assertion failed (0x01)'],
    [0x12, 'Panic: division or modulo by zero (0x12)'],
    [0x32, 'Panic: array index out of bounds (0x32)'],
    [0x99, 'Panic: unknown panic code (0x99)'],
    [0x100, 'Panic: unknown panic code (0x100)'],
  ])('decodes Panic(%i) (beyond ethconnect)', (code, text) => {
    expect(decodeRevertReason(panic(code))).toBe(text);
  });

  it('decodes a custom error declared in the ABI as Name(args), strings quoted', () => {
    const data = new Interface(TOKEN_ABI).encodeErrorResult('InsufficientBalance', ['0x52908400098527886E0F7030069857D2E4169EE7', 10n ** 20n, 'a, b']);
    expect(decodeRevertReason(data, TOKEN_ABI)).toBe('InsufficientBalance(0x52908400098527886e0f7030069857d2e4169ee7, 100000000000000000000, "a, b")');
  });

  it('renders array and tuple arguments of a custom error as JSON', () => {
    const abi = [{ type: 'error', name: 'Bad', inputs: [{ name: 'ids', type: 'uint8[]' }, { name: 'p', type: 'tuple', components: [{ name: 'ok', type: 'bool' }] }] }];
    const data = new Interface(abi).encodeErrorResult('Bad', [[1, 2], [true]]);
    expect(decodeRevertReason(data, abi)).toBe('Bad(["1","2"], {"ok":true})');
  });

  it('names a custom error whose arguments do not decode', () => {
    const selector = new Interface(TOKEN_ABI).getError('InsufficientBalance')?.selector ?? '';
    expect(decodeRevertReason(`${selector}00`, TOKEN_ABI)).toBe('InsufficientBalance(<arguments do not decode>)');
  });

  it('skips ABI entries it cannot read instead of throwing', () => {
    const data = new Interface(TOKEN_ABI).encodeErrorResult('InsufficientBalance', ['0x52908400098527886E0F7030069857D2E4169EE7', 1n, '']);
    expect(decodeRevertReason(data, [{ type: 'error', name: 'x y' }, null, ...TOKEN_ABI])).toBe('InsufficientBalance(0x52908400098527886e0f7030069857d2e4169ee7, 1, "")');
  });

  it.each([
    ['empty data', '0x', undefined],
    ['a selector shorter than 4 bytes', '0x08c379', undefined],
    ['non-hex data', 'execution reverted', undefined],
    ['a truncated Error(string)', '0x08c379a000', undefined],
    ['an unknown selector', '0x12345678', undefined],
  ])('gives undefined for %s', (_label, data, expected) => {
    expect(decodeRevertReason(data, TOKEN_ABI)).toBe(expected);
  });

  it('does not decode a custom error without the ABI', () => {
    const data = new Interface(TOKEN_ABI).encodeErrorResult('InsufficientBalance', ['0x52908400098527886E0F7030069857D2E4169EE7', 1n, '']);
    expect(decodeRevertReason(data)).toBeUndefined();
  });
});
