import { RestError } from '../errors';

/** Runs fn and returns the RestError it throws; fails the test when it throws nothing or something else. */
export function thrownRestError(fn: () => unknown): RestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RestError) return err;
    throw err;
  }
  throw new Error('expected a RestError, nothing was thrown');
}

/** An ERC-20-like ABI with the shapes the codec must handle: named/unnamed inputs and outputs, tuples, arrays, bytes32, int. */
export const TOKEN_ABI = [
  { type: 'constructor', stateMutability: 'nonpayable', inputs: [{ name: 'name', type: 'string' }, { name: 'supply', type: 'uint256' }] },
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: '', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ name: '', type: 'bool' }] },
  { type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }, { name: 'memo', type: 'bytes' }], outputs: [] },
  { type: 'function', name: 'pair', stateMutability: 'pure', inputs: [{ name: 'a', type: 'uint8' }, { name: '', type: 'int16' }], outputs: [{ name: 'sum', type: 'int256' }, { name: '', type: 'bytes32' }, { name: '', type: 'string' }] },
  {
    type: 'function',
    name: 'place',
    stateMutability: 'payable',
    inputs: [
      {
        name: 'order',
        type: 'tuple',
        components: [
          { name: 'maker', type: 'address' },
          { name: 'amounts', type: 'uint256[]' },
          { name: 'flags', type: 'bool[2]' },
          { name: 'salt', type: 'bytes32' },
          { name: 'legs', type: 'tuple[]', components: [{ name: 'delta', type: 'int64' }, { name: 'tag', type: 'bytes4' }] },
        ],
      },
      { name: 'note', type: 'string' },
    ],
    outputs: [
      {
        name: 'receipt',
        type: 'tuple',
        components: [
          { name: 'id', type: 'uint256' },
          { name: 'owners', type: 'address[]' },
          { name: 'legs', type: 'tuple[]', components: [{ name: 'delta', type: 'int64' }, { name: 'tag', type: 'bytes4' }] },
        ],
      },
    ],
  },
  { type: 'function', name: 'ping', stateMutability: 'nonpayable', inputs: [], outputs: [] },
  { type: 'function', name: 'legacy', constant: true, inputs: [], outputs: [{ name: 'v', type: 'uint256' }] },
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
  { type: 'error', name: 'InsufficientBalance', inputs: [{ name: 'holder', type: 'address' }, { name: 'needed', type: 'uint256' }, { name: 'why', type: 'string' }] },
] as const;
