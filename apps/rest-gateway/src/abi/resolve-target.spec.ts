import { ConstructorFragment, EventFragment, FunctionFragment, Fragment } from 'ethers';
import { RestErrorCode } from '../errors';
import { isReadOnly, parseAbi, resolveTarget } from './index';
import { thrownRestError, TOKEN_ABI } from './spec-helpers';

describe('parseAbi', () => {
  it('returns every fragment in declaration order', () => {
    const fragments = parseAbi(TOKEN_ABI);
    expect(fragments).toHaveLength(TOKEN_ABI.length);
    expect(fragments.map((f) => f.type)).toEqual(TOKEN_ABI.map((e) => e.type));
  });

  it('reads an entry without type as a function, as the Solidity ABI spec and go-ethereum do', () => {
    const [fragment] = parseAbi([{ name: 'f', inputs: [], outputs: [] }]);
    expect(FunctionFragment.isFragment(fragment)).toBe(true);
    expect((fragment as FunctionFragment).name).toBe('f');
  });

  it.each([
    ['a non-array', { abi: [] }, 'The ABI must be a JSON array of fragments (functions, events, errors, constructor); got object'],
    ['null', null, 'The ABI must be a JSON array of fragments (functions, events, errors, constructor); got null'],
    ['a string entry', ['function f()'], 'ABI entry 0 must be a JSON object describing a function, event, error or constructor; got string'],
    ['an unknown type', [{ type: 'function', name: 'ok', inputs: [] }, { type: 'foo' }], 'ABI entry 1 (foo) is not a valid ABI fragment: unsupported type: foo'],
    ['a bad parameter type', [{ type: 'function', name: 'transfer', inputs: [{ name: 'a', type: 'uint7' }] }], "ABI entry 0 (function 'transfer') is not a valid ABI fragment: invalid numeric width"],
  ])('refuses %s with 400 InvalidAbiUpload', (_label, abi, message) => {
    expect(thrownRestError(() => parseAbi(abi))).toMatchObject({ status: 400, code: RestErrorCode.InvalidAbiUpload, message });
  });
});

describe('resolveTarget', () => {
  it('finds a function by exact name; with overloads the first declared wins', () => {
    const target = resolveTarget(TOKEN_ABI, 'transfer');
    expect(target.kind).toBe('function');
    expect((target.fragment as FunctionFragment).format('sighash')).toBe('transfer(address,uint256)');
  });

  it('is case-sensitive', () => {
    expect(thrownRestError(() => resolveTarget(TOKEN_ABI, 'Transfer_'))).toMatchObject({ status: 404 });
    expect(thrownRestError(() => resolveTarget(TOKEN_ABI, 'BALANCEOF'))).toMatchObject({
      status: 404,
      code: RestErrorCode.MethodNotFound,
      message: "Method or Event 'BALANCEOF' is not declared in the ABI",
    });
  });

  it('falls back to an event of that name', () => {
    const target = resolveTarget(TOKEN_ABI, 'Transfer');
    expect(target.kind).toBe('event');
    expect(EventFragment.isFragment(target.fragment)).toBe(true);
  });

  it('prefers the function when a function and an event share a name', () => {
    const abi = [
      { type: 'event', name: 'Both', inputs: [] },
      { type: 'function', name: 'Both', inputs: [], outputs: [] },
    ];
    expect(resolveTarget(abi, 'Both').kind).toBe('function');
  });

  it('resolves no method to the declared constructor', () => {
    const target = resolveTarget(TOKEN_ABI, undefined);
    expect(target.kind).toBe('constructor');
    expect(target.fragment.inputs.map((p) => p.name)).toEqual(['name', 'supply']);
  });

  it('resolves no method to an empty non-payable constructor when the ABI has none', () => {
    const target = resolveTarget([{ type: 'function', name: 'f', inputs: [] }], '');
    expect(target.kind).toBe('constructor');
    const ctor = target.fragment as ConstructorFragment;
    expect(ctor.inputs).toHaveLength(0);
    expect(ctor.payable).toBe(false);
  });

  it('does not resolve an error fragment as a method', () => {
    expect(thrownRestError(() => resolveTarget(TOKEN_ABI, 'InsufficientBalance'))).toMatchObject({ status: 404, code: RestErrorCode.MethodNotFound });
  });

  it('refuses an invalid ABI with 400 rather than a 404', () => {
    expect(thrownRestError(() => resolveTarget([{ type: 'nope' }], 'f'))).toMatchObject({ status: 400, code: RestErrorCode.InvalidAbiUpload });
  });
});

describe('isReadOnly', () => {
  const fn = (name: string) => resolveTarget(TOKEN_ABI, name).fragment;
  it.each([
    ['view', 'balanceOf', true],
    ['pure', 'pair', true],
    ['legacy constant: true', 'legacy', true],
    ['nonpayable', 'transfer', false],
    ['payable', 'place', false],
  ])('%s function (%s) → %p', (_label, name, expected) => {
    expect(isReadOnly(fn(name))).toBe(expected);
  });

  it('is false for constructors and events', () => {
    expect(isReadOnly(resolveTarget(TOKEN_ABI, undefined).fragment)).toBe(false);
    expect(isReadOnly(Fragment.from({ type: 'event', name: 'E', inputs: [] }))).toBe(false);
  });
});
