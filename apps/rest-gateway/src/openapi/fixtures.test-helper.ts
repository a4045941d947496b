/** ABIs the openapi specs generate documents from. */

export const ERC20_ABI = [
  { type: 'constructor', stateMutability: 'nonpayable', inputs: [{ name: 'initialSupply', type: 'uint256' }] },
  { type: 'function', name: 'name', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'string' }] },
  { type: 'function', name: 'totalSupply', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'account', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'value', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }] },
  { type: 'function', name: 'approve', stateMutability: 'nonpayable', inputs: [{ name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }] },
  {
    type: 'event',
    name: 'Transfer',
    anonymous: false,
    inputs: [
      { name: 'from', type: 'address', indexed: true },
      { name: 'to', type: 'address', indexed: true },
      { name: 'value', type: 'uint256', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'Approval',
    anonymous: false,
    inputs: [
      { name: 'owner', type: 'address', indexed: true },
      { name: 'spender', type: 'address', indexed: true },
      { name: 'value', type: 'uint256', indexed: false },
    ],
  },
] as const;

/** Tuples (nested, in arrays), fixed and dynamic arrays, bytes32, unnamed inputs/outputs, overloads, events, payable constructor. */
export const COMPLEX_ABI = [
  { type: 'constructor', stateMutability: 'payable', inputs: [{ name: 'label', type: 'string' }, { name: '', type: 'uint8' }] },
  {
    type: 'function',
    name: 'submit',
    stateMutability: 'nonpayable',
    inputs: [
      {
        name: 'order',
        type: 'tuple',
        components: [
          { name: 'id', type: 'uint256' },
          { name: 'owners', type: 'address[]' },
          { name: 'tag', type: 'bytes32' },
          { name: 'inner', type: 'tuple', components: [{ name: 'ok', type: 'bool' }, { name: 'data', type: 'bytes' }] },
        ],
      },
      { name: 'hashes', type: 'bytes32[3]' },
      { name: 'pairs', type: 'tuple[]', components: [{ name: 'k', type: 'bytes4' }, { name: 'v', type: 'int64' }] },
    ],
    outputs: [{ name: '', type: 'uint256' }, { name: '', type: 'bool' }],
  },
  { type: 'function', name: 'get', stateMutability: 'view', inputs: [{ name: '', type: 'uint256' }], outputs: [{ name: '', type: 'string' }] },
  { type: 'function', name: 'get', stateMutability: 'view', inputs: [{ name: 'a', type: 'uint256' }, { name: 'b', type: 'uint256' }], outputs: [{ name: '', type: 'string' }] },
  { type: 'function', name: 'mixed', stateMutability: 'pure', inputs: [{ name: '', type: 'address' }, { name: 'named', type: 'uint256' }, { name: '', type: 'bytes' }], outputs: [{ name: 'total', type: 'uint256' }, { name: '', type: 'bytes' }] },
  { type: 'function', name: 'pay', stateMutability: 'payable', inputs: [], outputs: [] },
  { type: 'event', name: 'Stored', anonymous: false, inputs: [{ name: 'id', type: 'uint256', indexed: true }, { name: 'tag', type: 'bytes32', indexed: false }, { name: 't', type: 'tuple', indexed: false, components: [{ name: 'a', type: 'address' }, { name: 'b', type: 'uint256' }] }] },
  { type: 'event', name: 'Stored', anonymous: false, inputs: [{ name: 'id', type: 'uint256', indexed: false }] },
  { type: 'fallback', stateMutability: 'payable' },
  { type: 'receive', stateMutability: 'payable' },
] as const;
