import { RestError, RestErrorCode } from '../errors';
import { SpecialParams } from '../http/special-params';
import { parseAddressSegment, parseBlockTag, parseFrom, requestIdOf, txOptions } from './tx-params';

const params = (query: string, headers: Record<string, string> = {}) => new SpecialParams(new URLSearchParams(query), headers);

function restErrorOf(f: () => unknown): RestError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(RestError);
    return error as RestError;
  }
  throw new Error('expected a RestError');
}

const HEX40 = 'ab'.repeat(20);
// A real EIP-55 address and a version of it with one letter's case flipped (a wrong checksum).
const CHECKSUMMED = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const BAD_CHECKSUM = '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

describe('parseFrom', () => {
  it('accepts 40 hex characters with or without 0x, any case, and answers lowercase 0x', () => {
    expect(parseFrom(`0x${HEX40}`, true)).toBe(`0x${HEX40}`);
    expect(parseFrom(HEX40.toUpperCase(), true)).toBe(`0x${HEX40}`);
    expect(parseFrom(`0X${HEX40.toUpperCase()}`, false)).toBe(`0x${HEX40}`);
    expect(parseFrom(CHECKSUMMED, true)).toBe(CHECKSUMMED.toLowerCase());
    // ethconnect checks the characters, not the EIP-55 checksum.
    expect(parseFrom(BAD_CHECKSUM, true)).toBe(CHECKSUMMED.toLowerCase());
  });

  it('missing on a transaction: 400 FFEC100099', () => {
    for (const raw of [undefined, '']) {
      const error = restErrorOf(() => parseFrom(raw, true));
      expect([error.status, error.code]).toEqual([400, RestErrorCode.MissingFrom]);
      expect(error.code).toBe('FFEC100099');
      expect(error.message).toContain('kld-from');
    }
  });

  it('missing where optional (a call): undefined', () => {
    expect(parseFrom(undefined, false)).toBeUndefined();
    expect(parseFrom('', false)).toBeUndefined();
  });

  it.each([['0x1234'], [`0x${HEX40}00`], [`0x${'g'.repeat(40)}`], ['hd-wallet-1-0'], [` 0x${HEX40}`]])('not an address (%s): 404 FFEC100097, required or not', (raw) => {
    for (const required of [true, false]) {
      const error = restErrorOf(() => parseFrom(raw, required));
      expect([error.status, error.code]).toEqual([404, 'FFEC100097']);
      expect(error.message).toContain(raw);
    }
  });
});

describe('parseAddressSegment', () => {
  it('accepts 40 hex with an optional 0x and answers lowercase 0x', () => {
    expect(parseAddressSegment(`0x${HEX40}`)).toBe(`0x${HEX40}`);
    expect(parseAddressSegment(HEX40)).toBe(`0x${HEX40}`);
    expect(parseAddressSegment(HEX40.toUpperCase())).toBe(`0x${HEX40}`);
    expect(parseAddressSegment(CHECKSUMMED)).toBe(CHECKSUMMED.toLowerCase());
    expect(parseAddressSegment(CHECKSUMMED.slice(2))).toBe(CHECKSUMMED.toLowerCase());
  });

  // research/rest-gateway.md §2.3 item 3: "{address} must be 40 hex (optional 0x)", no checksum
  // rule, as parseFrom above; a client that mixes case without EIP-55 is answered by ethconnect.
  it('accepts mixed-case hex that is not a valid EIP-55 checksum (ethconnect checks only the characters)', () => {
    expect(parseAddressSegment(BAD_CHECKSUM)).toBe(CHECKSUMMED.toLowerCase());
  });

  it.each([['0x1234'], [`${HEX40}ab`], [`0x${'z'.repeat(40)}`], ['MyContract'], ['']])('not an address (%s): 404 FFEC100096', (raw) => {
    const error = restErrorOf(() => parseAddressSegment(raw));
    expect([error.status, error.code]).toEqual([404, RestErrorCode.InvalidAddress]);
    expect(error.code).toBe('FFEC100096');
  });
});

describe('txOptions', () => {
  it('converts base-10 ethvalue, gas and gasprice to JSON-RPC quantities', () => {
    expect(txOptions(params('kld-ethvalue=1000000000000000000&kld-gas=21000&kld-gasprice=1000000000'))).toEqual({
      value: '0xde0b6b3a7640000',
      gas: '0x5208',
      gasPrice: '0x3b9aca00',
    });
  });

  it('reads them from headers too', () => {
    expect(txOptions(params('', { 'x-kaleido-gas': '100000', 'x-firefly-ethvalue': '5' }))).toEqual({ gas: '0x186a0', value: '0x5' });
  });

  it('trims spaces around the number', () => {
    expect(txOptions(params('kld-gas=%2021000%20'))).toEqual({ gas: '0x5208' });
  });

  it('gives none of them when not set', () => {
    expect(txOptions(params(''))).toEqual({});
  });

  it('leaves out a zero value and treats gas 0 / gasprice 0 as "estimate" (ethconnect)', () => {
    expect(txOptions(params('kld-ethvalue=0&kld-gas=0&kld-gasprice=0'))).toEqual({});
    expect(txOptions(params('kld-ethvalue=000&kld-gas=%200%20'))).toEqual({});
  });

  it.each([
    ['ethvalue', 'kld-ethvalue=0x10'],
    ['ethvalue', 'kld-ethvalue=-1'],
    ['ethvalue', 'kld-ethvalue=1.5'],
    ['gas', 'kld-gas=1e6'],
    ['gas', 'kld-gas=lots'],
    ['gasprice', 'kld-gasprice=0x1'],
  ])('%s not a base-10 integer (%s): 400 FFEC100160 naming the parameter', (name, query) => {
    const error = restErrorOf(() => txOptions(params(query)));
    expect([error.status, error.code]).toEqual([400, RestErrorCode.InvalidParameter]);
    expect(error.code).toBe('FFEC100160');
    expect(error.message).toContain(`'${name}'`);
  });
});

describe('parseBlockTag', () => {
  it('is latest when not given', () => {
    expect(parseBlockTag(undefined)).toBe('latest');
  });

  it('takes the named tags in any case', () => {
    for (const tag of ['earliest', 'latest', 'pending', 'safe', 'finalized']) {
      expect(parseBlockTag(tag)).toBe(tag);
      expect(parseBlockTag(tag.toUpperCase())).toBe(tag);
    }
  });

  it('takes a decimal number or 0x hex and answers a JSON-RPC quantity', () => {
    expect(parseBlockTag('0')).toBe('0x0');
    expect(parseBlockTag('12345')).toBe('0x3039');
    expect(parseBlockTag('0x3039')).toBe('0x3039');
    expect(parseBlockTag('0X00FF')).toBe('0xff');
    expect(parseBlockTag(' 16 ')).toBe('0x10');
  });

  it.each([['-1'], ['0x'], ['0xzz'], ['last'], ['1.5'], ['']])('refuses %p with 400 FFEC100183', (raw) => {
    const error = restErrorOf(() => parseBlockTag(raw));
    expect([error.status, error.code]).toEqual([400, RestErrorCode.InvalidBlockNumber]);
    expect(error.code).toBe('FFEC100183');
  });
});

describe('requestIdOf', () => {
  const generate = jest.fn(() => 'generated-uuid');
  beforeEach(() => generate.mockClear());

  it('takes kld-id (or the header) when given, without generating one', () => {
    expect(requestIdOf(params('kld-id=my-req_1.a:b'), generate)).toBe('my-req_1.a:b');
    expect(requestIdOf(params('', { 'x-kaleido-id': 'from-header' }), generate)).toBe('from-header');
    expect(generate).not.toHaveBeenCalled();
  });

  it('generates one when not given', () => {
    expect(requestIdOf(params(''), generate)).toBe('generated-uuid');
    expect(requestIdOf(params('kld-id='), generate)).toBe('generated-uuid');
    expect(generate).toHaveBeenCalledTimes(2);
  });

  it('accepts 200 characters, refuses 201', () => {
    expect(requestIdOf(params(`kld-id=${'a'.repeat(200)}`), generate)).toBe('a'.repeat(200));
    const error = restErrorOf(() => requestIdOf(params(`kld-id=${'a'.repeat(201)}`), generate));
    expect([error.status, error.code]).toEqual([400, 'FFEC100160']);
    // The message quotes at most 50 characters of the id.
    expect(error.message).not.toContain('a'.repeat(51));
  });

  it.each([['has space'], ['slash/id'], ['quote"'], ['ünïcode'], ['semi;colon']])('refuses %p with 400 FFEC100160', (id) => {
    const error = restErrorOf(() => requestIdOf(params(`kld-id=${encodeURIComponent(id)}`), generate));
    expect([error.status, error.code]).toEqual([400, RestErrorCode.InvalidParameter]);
  });
});
