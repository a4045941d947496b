import { InvalidParamsError } from '@hsm-signer/ethereum';
import { TypedDataEncoder, Wallet, hashMessage, hexlify, toUtf8Bytes } from 'ethers';
import { messageBytes, parseMessageSignParams, parseSignTransactionParams, parseTypedDataParams, personalMessageDigest, typedDataDigest, type TypedData } from './signing-payloads';

// The pure half of the signing methods: what is hashed, and the -32602 messages a caller acts on.
// Digests are checked against ethers' own hashing (hashMessage, TypedDataEncoder); signing-methods.spec.ts
// checks whole signatures against Wallet.signMessage / signTypedData.

const address = '0x' + 'ab'.repeat(20);

/** EIP-712's own example (eips.ethereum.org/EIPS/eip-712, "Mail"), as eth_signTypedData_v4 carries it. */
const mailTypedData: TypedData = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
};

function invalid(fn: () => unknown): InvalidParamsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidParamsError);
    expect((error as InvalidParamsError).code).toBe(-32602);
    return error as InvalidParamsError;
  }
  throw new Error('expected an InvalidParamsError');
}

describe('eth_sign / personal_sign params', () => {
  it('decodes 0x hex of even length, takes anything else as UTF-8 (Web3Signer)', () => {
    expect(hexlify(messageBytes('0xdeadbeef'))).toBe('0xdeadbeef');
    expect(messageBytes('0x')).toEqual(new Uint8Array());
    expect(messageBytes('hello')).toEqual(toUtf8Bytes('hello'));
    expect(messageBytes('0xabc')).toEqual(toUtf8Bytes('0xabc'));
    expect(messageBytes('0xzz')).toEqual(toUtf8Bytes('0xzz'));
    expect(invalid(() => messageBytes(42)).message).toBe('Invalid params: the message must be a string (0x-prefixed hex bytes or UTF-8 text), got number');
  });

  it('eth_sign is [address, data], personal_sign [data, address] (a passphrase after it is ignored); addresses lower-cased', () => {
    const upper = '0x' + 'AB'.repeat(20);
    expect(parseMessageSignParams('eth_sign', [upper, '0x0102'])).toEqual({ address, message: new Uint8Array([1, 2]) });
    expect(parseMessageSignParams('personal_sign', ['0x0102', upper, 'passphrase'])).toEqual({ address, message: new Uint8Array([1, 2]) });
  });

  it('says which order it expected when the params are missing or swapped', () => {
    expect(invalid(() => parseMessageSignParams('eth_sign', [address])).message).toBe('Invalid params: eth_sign expects [address, data]');
    expect(invalid(() => parseMessageSignParams('personal_sign', [address, '0x01'])).message).toBe(
      'Invalid params: personal_sign [data, address]: address must be a 0x-prefixed 20-byte address, got "0x01"',
    );
    expect(invalid(() => parseMessageSignParams('personal_sign', 'x')).message).toBe('Invalid params: personal_sign expects [data, address]');
  });

  it('hashes as EIP-191 personal messages, as ethers hashMessage does', () => {
    expect(personalMessageDigest(toUtf8Bytes('hello'))).toBe(hashMessage('hello'));
    expect(personalMessageDigest(new Uint8Array([0xde, 0xad]))).toBe(hashMessage(new Uint8Array([0xde, 0xad])));
  });
});

describe('eth_signTypedData* params and EIP-712 digest', () => {
  const { EIP712Domain: _domainType, ...structs } = mailTypedData.types;
  const expected = TypedDataEncoder.hash(mailTypedData.domain, structs, mailTypedData.message);

  it("hashes EIP-712's Mail example to the digest the EIP gives, as an object or a JSON string", () => {
    // eips.ethereum.org/EIPS/eip-712 reference implementation: sign(Mail) signs this digest.
    expect(expected).toBe('0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2');
    expect(typedDataDigest(parseTypedDataParams('eth_signTypedData_v4', [address, mailTypedData]).typedData)).toBe(expected);
    expect(typedDataDigest(parseTypedDataParams('eth_signTypedData_v3', [address, JSON.stringify(mailTypedData)]).typedData)).toBe(expected);
  });

  it('honours primaryType when the types hold more than its structs (ethers alone would refuse them)', () => {
    const withUnused = { ...mailTypedData, types: { ...mailTypedData.types, Unused: [{ name: 'x', type: 'uint8' }] } };
    expect(typedDataDigest(withUnused)).toBe(expected);
    const person = { ...mailTypedData, primaryType: 'Person', message: mailTypedData.message['from'] as Record<string, unknown> };
    expect(typedDataDigest(person)).toBe(TypedDataEncoder.hash(mailTypedData.domain, { Person: structs['Person'] }, person.message));
  });

  it('hashes only the domain fields EIP712Domain declares; without it, the domain object decides', () => {
    const declaredSubset = { ...mailTypedData, types: { ...mailTypedData.types, EIP712Domain: [{ name: 'name', type: 'string' }] } };
    expect(typedDataDigest(declaredSubset)).toBe(TypedDataEncoder.hash({ name: 'Ether Mail' }, structs, mailTypedData.message));
    expect(typedDataDigest({ ...mailTypedData, types: structs })).toBe(expected);
  });

  it('refuses what cannot be encoded with a message naming the problem', () => {
    const cases: Array<[unknown, string]> = [
      ['{not json', 'Invalid params: typedData is a string but not valid JSON'],
      [[{ type: 'string', name: 'x', value: 'y' }], 'Invalid params: legacy (v1) typed data, an array of {type, name, value}, is not supported; send EIP-712 typed data {types, primaryType, domain, message}'],
      [{ ...mailTypedData, types: undefined }, 'Invalid params: typedData.types must be an object of struct definitions'],
      [{ ...mailTypedData, types: { ...mailTypedData.types, Mail: [{ name: 'x' }] } }, 'Invalid params: typedData.types.Mail must be an array of {name, type}'],
      [{ ...mailTypedData, primaryType: undefined }, 'Invalid params: typedData.primaryType must name a struct in typedData.types'],
      [{ ...mailTypedData, message: 'x' }, 'Invalid params: typedData.message must be an object'],
      [{ ...mailTypedData, domain: null }, 'Invalid params: typedData.domain must be an object'],
    ];
    for (const [data, message] of cases) expect(invalid(() => parseTypedDataParams('eth_signTypedData_v4', [address, data])).message).toContain(message);

    expect(invalid(() => parseTypedDataParams('eth_signTypedData', [address])).message).toBe('Invalid params: eth_signTypedData expects [address, typedData]');
    expect(invalid(() => parseTypedDataParams('eth_signTypedData_v4', ['nope', mailTypedData])).message).toContain('address must be a 0x-prefixed 20-byte address');
  });

  it('refuses typed data ethers cannot encode: -32602 with the reason, not an internal error', () => {
    expect(invalid(() => typedDataDigest({ ...mailTypedData, primaryType: 'Letter' })).message).toBe(
      'Invalid params: typedData.primaryType "Letter" is not defined in typedData.types (EIP712Domain aside)',
    );
    const badWallet = { ...mailTypedData, message: { ...mailTypedData.message, to: { name: 'Bob', wallet: 'not an address' } } };
    expect(invalid(() => typedDataDigest(badWallet)).message).toBe(
      'Invalid params: typed data cannot be encoded (EIP-712): typedData.message.to.wallet is not a valid address: invalid address ("not an address")',
    );
    const noContents = { ...mailTypedData, message: { from: mailTypedData.message['from'], to: mailTypedData.message['to'] } };
    expect(invalid(() => typedDataDigest(noContents)).message).toBe('Invalid params: typed data cannot be encoded (EIP-712): typedData.message.contents (string) is missing');
    const notStruct = { ...mailTypedData, message: { ...mailTypedData.message, from: 'Cow' } };
    expect(invalid(() => typedDataDigest(notStruct)).message).toBe('Invalid params: typed data cannot be encoded (EIP-712): typedData.message.from must be an object (Person), got "Cow"');
    const unknownType = { ...mailTypedData, types: { ...mailTypedData.types, Person: [{ name: 'name', type: 'Name' }] } };
    expect(invalid(() => typedDataDigest(unknownType)).message).toBe('Invalid params: typed data cannot be encoded (EIP-712): unknown type "Name"');
    const missing = { ...mailTypedData, domain: { name: 'Ether Mail', version: '1', chainId: 1 } };
    expect(invalid(() => typedDataDigest(missing)).message).toBe('Invalid params: typedData.domain.verifyingContract is declared in EIP712Domain but missing');
    const reordered = { ...mailTypedData, types: { ...mailTypedData.types, EIP712Domain: [...mailTypedData.types['EIP712Domain']].reverse() } };
    expect(invalid(() => typedDataDigest(reordered)).message).toContain('EIP712Domain must list its fields in the order name, version, chainId, verifyingContract, salt');
    expect(invalid(() => typedDataDigest({ ...mailTypedData, types: structs, domain: { name: 'x', foo: 1 } as never })).message).toContain('typedData.domain.foo is not an EIP-712 domain field');
  });

  it('checks arrays item by item (eth_signTypedData_v4 arrays), naming the item', () => {
    const group: TypedData = {
      types: { Group: [{ name: 'members', type: 'address[2]' }, { name: 'tags', type: 'string[]' }] },
      primaryType: 'Group',
      domain: { name: 'g' },
      message: { members: [address, address], tags: ['a', 'b'] },
    };
    expect(typedDataDigest(group)).toBe(TypedDataEncoder.hash({ name: 'g' }, group.types, group.message));
    expect(invalid(() => typedDataDigest({ ...group, message: { ...group.message, members: [address] } })).message).toContain('typedData.message.members must have 2 items (address[2]), got 1');
    expect(invalid(() => typedDataDigest({ ...group, message: { ...group.message, tags: ['a', 7] } })).message).toContain('typedData.message.tags[1] is not a valid string');
    expect(invalid(() => typedDataDigest({ ...group, message: { ...group.message, tags: 'a' } })).message).toContain('typedData.message.tags must be an array (string[]), got "a"');
  });

  it('a random wallet-signed typed data digest is the one ethers signs', async () => {
    const wallet = Wallet.createRandom();
    const digest = typedDataDigest(mailTypedData);
    expect(wallet.signingKey.sign(digest).serialized).toBe(await wallet.signTypedData(mailTypedData.domain, structs, mailTypedData.message));
  });
});

describe('eth_signTransaction params', () => {
  it('takes the eth_sendTransaction object and requires a nonce, saying why and what to do', () => {
    expect(parseSignTransactionParams([{ from: address, to: address, nonce: '0x7' }])).toMatchObject({ from: address, nonce: 7 });
    const error = invalid(() => parseSignTransactionParams([{ from: address, to: address }]));
    expect(error.message).toBe(
      "Invalid params: eth_signTransaction needs a 'nonce': the gateway assigns nonces only to transactions it sends itself (eth_sendTransaction); read the account's next nonce with eth_getTransactionCount(address, 'pending') and pass it",
    );
    expect(invalid(() => parseSignTransactionParams([])).message).toBe('Invalid params: expected [transaction]');
    expect(invalid(() => parseSignTransactionParams([{ to: address, nonce: '0x1' }])).message).toBe("Invalid params: missing 'from'");
  });
});
