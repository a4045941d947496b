import { AbiCoder, ConstructorFragment, FunctionFragment, Interface } from 'ethers';
import { RestErrorCode } from '../errors';
import { collectArgs, encodeDeployData, encodeFunctionData, resolveTarget } from './index';
import { thrownRestError, TOKEN_ABI } from './spec-helpers';

const ctor = resolveTarget(TOKEN_ABI, undefined).fragment as ConstructorFragment;
const BYTECODE = '6080604052348015600f57600080fd5b50';

describe('encodeFunctionData', () => {
  it('is the selector plus the ABI-encoded arguments, as ethers Interface encodes them', () => {
    const iface = new Interface(TOKEN_ABI);
    const ping = resolveTarget(TOKEN_ABI, 'ping').fragment as FunctionFragment;
    expect(encodeFunctionData(ping, [])).toBe(iface.getFunction('ping')?.selector);
    const pair = resolveTarget(TOKEN_ABI, 'pair').fragment as FunctionFragment;
    expect(encodeFunctionData(pair, [7n, -1n])).toBe(iface.encodeFunctionData('pair', [7, -1]));
  });

  it('answers arguments that cannot be encoded with 400 naming the method', () => {
    const transfer = resolveTarget(TOKEN_ABI, 'transfer').fragment as FunctionFragment;
    const err = thrownRestError(() => encodeFunctionData(transfer, ['0x01']));
    expect(err).toMatchObject({ status: 400, code: RestErrorCode.InvalidParameter });
    expect(err.message).toMatch(/^The parameters of method 'transfer' \(transfer\(address,uint256\)\) cannot be ABI-encoded: /);
  });
});

describe('encodeDeployData', () => {
  it('appends the encoded constructor arguments to the bytecode (0x optional)', () => {
    const args = collectArgs(ctor, { name: 'Token', supply: '1000000000000000000000' }, {});
    const expected = `0x${BYTECODE}${AbiCoder.defaultAbiCoder().encode(['string', 'uint256'], ['Token', 10n ** 21n]).slice(2)}`;
    expect(encodeDeployData(ctor, BYTECODE, args)).toBe(expected);
    expect(encodeDeployData(ctor, `0x${BYTECODE.toUpperCase()}`, args)).toBe(expected);
    // ethers' own constructor encoding agrees.
    expect(expected).toBe(`0x${BYTECODE}${new Interface(TOKEN_ABI).encodeDeploy(['Token', 10n ** 21n]).slice(2)}`);
  });

  it('is the bare bytecode for a constructor without inputs', () => {
    const empty = resolveTarget([], undefined).fragment as ConstructorFragment;
    expect(encodeDeployData(empty, BYTECODE, [])).toBe(`0x${BYTECODE}`);
  });

  it.each([
    ['empty', '', 'The contract bytecode is not valid hex: expected an even number of hex digits, 0x optional'],
    ['odd-length', '0x608', 'The contract bytecode is not valid hex: expected an even number of hex digits, 0x optional'],
    ['non-hex', '60zz', 'The contract bytecode is not valid hex: expected an even number of hex digits, 0x optional'],
    ['unlinked', `6080__$1234567890abcdef1234567890abcdef12$__6080`, 'The contract bytecode has unlinked library placeholders (__$…$__): link the libraries before uploading it'],
  ])('refuses %s bytecode with 400 InvalidAbiUpload', (_label, bytecode, message) => {
    expect(thrownRestError(() => encodeDeployData(ctor, bytecode, ['a', 1n]))).toMatchObject({ status: 400, code: RestErrorCode.InvalidAbiUpload, message });
  });
});
