import { InvalidParamsError, NoUnlockedAccountError } from '../rpc/errors';
import { parseQuantity } from './quantity';
import { parseSendTransactionParams, parseTransactionRequest } from './request';

const FROM = '0x' + 'AB'.repeat(20);
const TO = '0x' + 'Cd'.repeat(20);

describe('parseQuantity', () => {
  it('accepts hex (with or without leading zeros), decimal strings and safe integers', () => {
    expect(parseQuantity('0x0', 'v')).toBe(0n);
    expect(parseQuantity('0x0a', 'v')).toBe(10n);
    expect(parseQuantity('0xDE0B6B3A7640000', 'v')).toBe(10n ** 18n);
    expect(parseQuantity('21000', 'v')).toBe(21000n);
    expect(parseQuantity(5, 'v')).toBe(5n);
  });
  it.each(['NaN', '0x', '-1', '0xzz', '', '1e3'])('rejects %p with -32602 naming the field', (bad) => {
    expect(() => parseQuantity(bad, 'gasPrice')).toThrow(InvalidParamsError);
    expect(() => parseQuantity(bad, 'gasPrice')).toThrow(/gasPrice must be a hex quantity/);
  });
  it('rejects non-integer and negative numbers', () => {
    expect(() => parseQuantity(1.5, 'value')).toThrow(InvalidParamsError);
    expect(() => parseQuantity(-1, 'value')).toThrow(InvalidParamsError);
    expect(() => parseQuantity(null, 'value')).toThrow(/got null/);
  });
});

describe('parseTransactionRequest', () => {
  it('normalises a full request', () => {
    const req = parseTransactionRequest({
      from: FROM,
      to: TO,
      gas: '0x5208',
      maxFeePerGas: '0x3b9aca00',
      maxPriorityFeePerGas: '0x1',
      value: '0xde0b6b3a7640000',
      data: '0xABCD',
      nonce: '0x7',
      type: '0x2',
      chainId: '0x7a69',
      accessList: [{ address: TO, storageKeys: ['0x' + 'AA'.repeat(32)] }],
    });
    expect(req).toEqual({
      from: FROM.toLowerCase(),
      to: TO.toLowerCase(),
      gas: 21000n,
      maxFeePerGas: 1_000_000_000n,
      maxPriorityFeePerGas: 1n,
      value: 10n ** 18n,
      data: '0xabcd',
      nonce: 7,
      type: 2,
      chainId: 31337,
      accessList: [{ address: TO.toLowerCase(), storageKeys: ['0x' + 'aa'.repeat(32)] }],
    });
  });

  it('defaults value and data, and treats "", "0x" and null `to` as contract creation', () => {
    for (const to of [undefined, null, '', '0x']) {
      expect(parseTransactionRequest({ from: FROM, to })).toEqual({ from: FROM.toLowerCase(), to: null, value: 0n, data: '0x' });
    }
  });

  it('missing from → -32602; malformed from → -32000 No unlocked account', () => {
    expect(() => parseTransactionRequest({ to: TO })).toThrow(InvalidParamsError);
    expect(() => parseTransactionRequest({ to: TO })).toThrow("Invalid params: missing 'from'");
    expect(() => parseTransactionRequest({ from: '0x1234' })).toThrow(NoUnlockedAccountError);
    expect(() => parseTransactionRequest({ from: 42 })).toThrow(NoUnlockedAccountError);
  });

  it('accepts gasLimit and input as aliases, refuses conflicting aliases', () => {
    expect(parseTransactionRequest({ from: FROM, gasLimit: '0x10', input: '0x01' })).toMatchObject({ gas: 16n, data: '0x01' });
    expect(parseTransactionRequest({ from: FROM, gas: '0x10', gasLimit: '16', data: '0x01', input: '0x01' })).toMatchObject({ gas: 16n });
    expect(() => parseTransactionRequest({ from: FROM, gas: '0x10', gasLimit: '0x11' })).toThrow(/gas and gasLimit/);
    expect(() => parseTransactionRequest({ from: FROM, data: '0x01', input: '0x02' })).toThrow(/data and input/);
  });

  it.each([
    [{ nonce: 'NaN' }, /nonce/],
    [{ value: 'abc' }, /value/],
    [{ gasPrice: '0x' }, /gasPrice/],
    [{ data: '0x123' }, /data must be/],
    [{ to: '0x1234' }, /to must be/],
    [{ type: '0x3' }, /type 0x3 is not supported/],
    [{ chainId: '0x0' }, /chainId must not be 0/],
    [{ accessList: [{ address: 'x' }] }, /accessList\[0\]\.address/],
    [{ accessList: [{ address: TO, storageKeys: ['0x01'] }] }, /storageKeys/],
    [{ blobVersionedHashes: [] }, /blob/],
  ])('rejects %p with -32602', (fields, message) => {
    expect(() => parseTransactionRequest({ from: FROM, ...fields })).toThrow(InvalidParamsError);
    expect(() => parseTransactionRequest({ from: FROM, ...fields })).toThrow(message);
  });

  it('parses the params array of eth_sendTransaction', () => {
    expect(parseSendTransactionParams([{ from: FROM }]).from).toBe(FROM.toLowerCase());
    expect(() => parseSendTransactionParams([])).toThrow(/expected \[transaction\]/);
    expect(() => parseSendTransactionParams({ from: FROM })).toThrow(InvalidParamsError);
    expect(() => parseSendTransactionParams(['0x12'])).toThrow(/must be an object/);
  });
});
