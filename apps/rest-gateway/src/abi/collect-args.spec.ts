import { ConstructorFragment, FunctionFragment, Interface } from 'ethers';
import { RestErrorCode } from '../errors';
import { collectArgs, encodeFunctionData, resolveTarget } from './index';
import { thrownRestError, TOKEN_ABI } from './spec-helpers';

const fn = (name: string) => resolveTarget(TOKEN_ABI, name).fragment as FunctionFragment;
const single = (type: string, name = 'v') => FunctionFragment.from({ type: 'function', name: 'f', inputs: [{ name, type }], outputs: [] });
const convert = (type: string, value: unknown) => collectArgs(single(type), { v: value }, {})[0];
const refusal = (type: string, value: unknown) => thrownRestError(() => convert(type, value));

const ADDR = '0x00000000000000000000000000000000000000aa';

describe('collectArgs: where each input comes from (research/rest-gateway.md §2.3 item 5)', () => {
  it('reads named inputs from the body', () => {
    expect(collectArgs(fn('transfer'), { to: ADDR, amount: '5' }, {})).toEqual([ADDR, 5n]);
  });

  it('prefers the body over the query, then takes the first query value', () => {
    expect(collectArgs(fn('transfer'), { amount: '7' }, { to: ADDR, amount: '1' })).toEqual([ADDR, 7n]);
    expect(collectArgs(fn('transfer'), {}, { to: [ADDR, '0x0000000000000000000000000000000000000001'], amount: ['3', '4'] })).toEqual([ADDR, 3n]);
  });

  it('addresses unnamed inputs as input, input1, … by position', () => {
    expect(collectArgs(fn('balanceOf'), { input: ADDR }, {})).toEqual([ADDR]);
    // pair(uint8 a, int16): the unnamed second input is input1, not input.
    expect(collectArgs(fn('pair'), {}, { a: '1', input1: '-2' })).toEqual([1n, -2n]);
    expect(thrownRestError(() => collectArgs(fn('pair'), { a: 1, input: 2 }, {})).message).toBe(
      "Parameter 'input1' of method 'pair' was not specified in body or query parameters",
    );
  });

  it('answers a missing input with 400 MissingParameter naming parameter and method', () => {
    expect(thrownRestError(() => collectArgs(fn('transfer'), { to: ADDR }, {}))).toMatchObject({
      status: 400,
      code: RestErrorCode.MissingParameter,
      message: "Parameter 'amount' of method 'transfer' was not specified in body or query parameters",
    });
  });

  it('treats an empty query array as absent and an empty query string as a value', () => {
    expect(thrownRestError(() => collectArgs(single('string'), {}, { v: [] })).code).toBe(RestErrorCode.MissingParameter);
    expect(collectArgs(single('string'), {}, { v: '' })).toEqual(['']);
  });

  it('names the constructor "constructor" in messages', () => {
    const ctor = resolveTarget(TOKEN_ABI, undefined).fragment as ConstructorFragment;
    expect(collectArgs(ctor, { name: 'Tok', supply: 10 }, {})).toEqual(['Tok', 10n]);
    expect(thrownRestError(() => collectArgs(ctor, { name: 'Tok' }, {})).message).toBe(
      "Parameter 'supply' of method 'constructor' was not specified in body or query parameters",
    );
  });

  it('does not find inherited Object properties as parameters', () => {
    const f = single('string', 'toString');
    expect(thrownRestError(() => collectArgs(f, {}, {})).code).toBe(RestErrorCode.MissingParameter);
  });

  it('answers null with 400 NullParameter', () => {
    expect(thrownRestError(() => collectArgs(fn('transfer'), { to: null, amount: 1 }, {}))).toMatchObject({
      status: 400,
      code: RestErrorCode.NullParameter,
      message: "Parameter 'to' of method 'transfer' is null: supply a value of type address",
    });
  });
});

describe('collectArgs: integers (research/rest-gateway.md §3.1)', () => {
  it.each([
    ['uint256', '115792089237316195423570985008687907853269984665640564039457584007913129639935', 2n ** 256n - 1n],
    ['uint256', '0012', 12n],
    ['int256', '-57896044618658097711785492504343953926634992332820282019728792003956564819968', -(2n ** 255n)],
    ['int16', -32768, -32768n],
    ['int24', '+5', 5n],
    ['uint64', Number.MAX_SAFE_INTEGER, 9007199254740991n],
    ['uint8', 255, 255n],
    ['uint256', 10n ** 30n, 10n ** 30n],
  ])('%s accepts %p', (type, value, expected) => {
    expect(convert(type, value)).toBe(expected);
  });

  it('refuses a JSON number above 2^53 and asks for a string (stricter than ethconnect, which loses precision)', () => {
    expect(refusal('uint256', 2 ** 53 + 2)).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'v' of method 'f' is the JSON number 9007199254740994, beyond 2^53-1 where JSON numbers are not exact (type uint256): send it as a base-10 string in quotes instead",
    });
    expect(refusal('int256', -1e21).message).toContain('send it as a base-10 string');
  });

  it.each([
    ['uint256', '0x1f', "Parameter 'v' of method 'f' must be a base-10 integer (type uint256); hex such as \"0x1f\" is not accepted"],
    ['uint256', 1.5, "Parameter 'v' of method 'f' must be an integer (type uint256); got 1.5"],
    ['uint256', '1.0', "Parameter 'v' of method 'f' must be a base-10 integer string or a JSON number (type uint256); got string \"1.0\""],
    ['uint256', ' 1', "Parameter 'v' of method 'f' must be a base-10 integer string or a JSON number (type uint256); got string \" 1\""],
    ['int8', true, "Parameter 'v' of method 'f' must be a base-10 integer string or a JSON number (type int8); got boolean true"],
    ['uint8', '256', "Parameter 'v' of method 'f' is out of range for uint8 (0 to 255); got 256"],
    ['int16', -32769, "Parameter 'v' of method 'f' is out of range for int16 (-32768 to 32767); got -32769"],
    ['uint32', '-1', "Parameter 'v' of method 'f' is out of range for uint32 (0 to 4294967295); got -1"],
    ['uint256', (2n ** 256n).toString(), `Parameter 'v' of method 'f' is out of range for uint256 (0 to 2^256-1); got ${2n ** 256n}`],
    ['int128', (2n ** 127n).toString(), `Parameter 'v' of method 'f' is out of range for int128 (-2^127 to 2^127-1); got ${2n ** 127n}`],
  ])('%s refuses %p with 400 InvalidParameter', (type, value, message) => {
    expect(refusal(type, value)).toMatchObject({ status: 400, code: RestErrorCode.InvalidParameter, message });
  });
});

describe('collectArgs: bool, string, address', () => {
  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['TRUE', true],
    ['yes', false],
    ['', false],
  ])('bool from %p is %p (only "true", any case, is true)', (value, expected) => {
    expect(convert('bool', value)).toBe(expected);
  });

  it('refuses a number for bool', () => {
    expect(refusal('bool', 1)).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'v' of method 'f' must be a JSON boolean or the string \"true\"/\"false\"; got number 1",
    });
  });

  it('takes only JSON strings for string', () => {
    expect(convert('string', 'héllo')).toBe('héllo');
    expect(refusal('string', 42)).toMatchObject({ status: 400, code: RestErrorCode.InvalidParameter, message: "Parameter 'v' of method 'f' must be a JSON string; got number 42" });
  });

  it('takes an address with or without 0x in any case, lower-cased (no checksum check, as go-ethereum)', () => {
    expect(convert('address', 'AbCdEf0000000000000000000000000000000001')).toBe('0xabcdef0000000000000000000000000000000001');
    expect(convert('address', '0XABCDEF0000000000000000000000000000000001')).toBe('0xabcdef0000000000000000000000000000000001');
  });

  it.each([['0x1234'], [12], ['0xzz00000000000000000000000000000000000000']])('refuses the address %p', (value) => {
    expect(refusal('address', value)).toMatchObject({ status: 400, code: RestErrorCode.InvalidParameter });
    expect(refusal('address', value).message).toMatch(/^Parameter 'v' of method 'f' must be an address: 40 hex digits, 0x optional; got /);
  });
});

describe('collectArgs: bytes and bytesN', () => {
  it.each([
    ['bytes', '0xDEADbeef', '0xdeadbeef'],
    ['bytes', 'deadbeef', '0xdeadbeef'],
    ['bytes', '', '0x'],
    ['bytes', [0, 1, 255], '0x0001ff'],
    ['bytes4', '0x01020304', '0x01020304'],
    ['bytes2', [10, 11], '0x0a0b'],
  ])('%s from %p', (type, value, expected) => {
    expect(convert(type, value)).toBe(expected);
  });

  it.each([
    ['bytes', '0x123', "Parameter 'v' of method 'f' has an odd number of hex digits (3); each byte needs two (type bytes)"],
    ['bytes', 'xyz0', "Parameter 'v' of method 'f' must be hex (0x optional) or an array of byte values 0-255 (type bytes); got \"xyz0\""],
    ['bytes', [1, 256], "Parameter 'v[1]' of method 'f' must be a byte value, an integer 0-255; got 256"],
    ['bytes', [1, '2'], "Parameter 'v[1]' of method 'f' must be a byte value, an integer 0-255; got \"2\""],
    ['bytes', 7, "Parameter 'v' of method 'f' must be hex (0x optional) or an array of byte values 0-255 (type bytes); got number 7"],
    ['bytes32', '0x01', "Parameter 'v' of method 'f' must be exactly 32 bytes (64 hex digits) for type bytes32; got 1 bytes"],
    ['bytes4', [1, 2, 3, 4, 5], "Parameter 'v' of method 'f' must be exactly 4 bytes (8 hex digits) for type bytes4; got 5 bytes"],
  ])('%s refuses %p', (type, value, message) => {
    expect(refusal(type, value)).toMatchObject({ status: 400, code: RestErrorCode.InvalidParameter, message });
  });
});

describe('collectArgs: arrays and tuples', () => {
  const order = {
    maker: ADDR,
    amounts: ['1', 2, '300000000000000000000000'],
    flags: [true, 'false'],
    salt: `0x${'ab'.repeat(32)}`,
    legs: [{ delta: -5, tag: '0x01020304' }],
  };

  it('converts nested tuples and arrays in component order', () => {
    expect(collectArgs(fn('place'), { order, note: 'n' }, {})).toEqual([
      [ADDR, [1n, 2n, 300000000000000000000000n], [true, false], `0x${'ab'.repeat(32)}`, [[-5n, '0x01020304']]],
      'n',
    ]);
  });

  it('names the path of a bad nested value', () => {
    const bad = { ...order, amounts: ['1', '2', 'x'] };
    expect(thrownRestError(() => collectArgs(fn('place'), { order: bad, note: '' }, {}))).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'order.amounts[2]' of method 'place' must be a base-10 integer string or a JSON number (type uint256); got string \"x\"",
    });
    const badLeg = { ...order, legs: [{ delta: 1, tag: '0x01020304' }, { delta: null, tag: '0x01020304' }] };
    expect(thrownRestError(() => collectArgs(fn('place'), { order: badLeg, note: '' }, {}))).toMatchObject({
      status: 400,
      code: RestErrorCode.NullParameter,
      message: "Parameter 'order.legs[1].delta' of method 'place' is null: supply a value of type int64",
    });
  });

  it('requires every tuple component', () => {
    const { salt: _salt, ...noSalt } = order;
    expect(thrownRestError(() => collectArgs(fn('place'), { order: noSalt, note: '' }, {}))).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'order.salt' of method 'place' is missing: every component of 'order' (maker, amounts, flags, salt, legs) is required",
    });
  });

  it('requires a JSON object for a tuple and an array for an array', () => {
    expect(thrownRestError(() => collectArgs(fn('place'), { order: [1, 2], note: '' }, {})).message).toBe(
      "Parameter 'order' of method 'place' must be a JSON object with the keys 'maker', 'amounts', 'flags', 'salt', 'legs'; got array [1,2]",
    );
    expect(refusal('uint256[]', '1,2')).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'v' of method 'f' must be a JSON array (type uint256[]); got string \"1,2\"",
    });
  });

  it('checks the length of a fixed array', () => {
    expect(refusal('uint8[3]', [1, 2])).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'v' of method 'f' must be an array of exactly 3 elements (type uint8[3]); got 2",
    });
    expect(convert('uint8[2][]', [[1, 2], [3, 4]])).toEqual([[1n, 2n], [3n, 4n]]);
  });

  it('refuses arrays and tuples from the query string, which can only carry one string', () => {
    expect(thrownRestError(() => collectArgs(single('uint256[]'), {}, { v: '[1,2]' }))).toMatchObject({
      status: 400,
      code: RestErrorCode.InvalidParameter,
      message: "Parameter 'v' of method 'f' has type uint256[], which a query parameter cannot carry: send it in the JSON body",
    });
    expect(thrownRestError(() => collectArgs(fn('place'), {}, { order: '{}', note: 'x' })).message).toBe(
      "Parameter 'order' of method 'place' has type tuple(address,uint256[],bool[2],bytes32,(int64,bytes4)[]), which a query parameter cannot carry: send it in the JSON body",
    );
  });
});

describe('collectArgs + encodeFunctionData, decoded by ethers Interface (the oracle)', () => {
  const iface = new Interface(TOKEN_ABI);

  it('encodes transfer(address,uint256) with a uint256 above 2^53 exactly', () => {
    const data = encodeFunctionData(fn('transfer'), collectArgs(fn('transfer'), { to: ADDR.slice(2).toUpperCase(), amount: '123456789012345678901234567890' }, {}));
    const decoded = iface.decodeFunctionData('transfer(address,uint256)', data);
    expect(decoded[0]).toBe('0x00000000000000000000000000000000000000AA');
    expect(decoded[1]).toBe(123456789012345678901234567890n);
    expect(data).toBe(iface.encodeFunctionData('transfer(address,uint256)', [ADDR, 123456789012345678901234567890n]));
  });

  it('encodes a nested tuple with arrays, bytes32 and negative ints', () => {
    const body = {
      order: { maker: ADDR, amounts: ['0', '18446744073709551616'], flags: ['TRUE', false], salt: 'ff'.repeat(32), legs: [{ delta: '-9223372036854775808', tag: [1, 2, 3, 4] }] },
      note: 'memo',
    };
    const data = encodeFunctionData(fn('place'), collectArgs(fn('place'), body, {}));
    const [decodedOrder, note] = iface.decodeFunctionData('place', data);
    expect(note).toBe('memo');
    expect(decodedOrder.maker).toBe('0x00000000000000000000000000000000000000AA');
    expect(decodedOrder.toArray(true)).toEqual([
      '0x00000000000000000000000000000000000000AA',
      [0n, 18446744073709551616n],
      [true, false],
      `0x${'ff'.repeat(32)}`,
      [[-9223372036854775808n, '0x01020304']],
    ]);
  });
});
