import type { StoredAbi, StoredContract } from '@hsm-signer/persistence';
import { Registry, type RegistryStore } from './registry';

const abi: StoredAbi = { id: '11111111-1111-4111-8111-111111111111', name: 'C', description: '', abi: [], bytecode: '0x00', devdoc: null, compilerVersion: null, deployable: true, createdAt: new Date() };
const contract: StoredContract = { address: '0x' + 'ab'.repeat(20), abiId: abi.id, registeredAs: 'c1', createdAt: new Date() };

/** A counting store FIXTURE: the caches are pure logic over it (the real RestStore is covered in libs/persistence). */
function countingStore() {
  const calls = { getAbi: 0, getContract: 0 };
  let current: StoredContract | undefined = contract;
  const store: RegistryStore = {
    getAbi: async (id) => (calls.getAbi++, id === abi.id ? abi : undefined),
    listAbis: async () => [abi],
    getContract: async () => (calls.getContract++, current),
    listContracts: async () => (current ? [current] : []),
    registerContract: async (input) => (current = { ...contract, address: input.address, registeredAs: input.registeredAs ?? null }),
  };
  return { store, calls, drop: () => (current = undefined) };
}

describe('Registry caches (ABIs for good, contracts for 5 s)', () => {
  it('reads an ABI once, however often it is used; an unknown id is asked every time (404 each)', async () => {
    const { store, calls } = countingStore();
    const registry = new Registry(store, { baseUrl: '', prefixes: { short: 'kld', long: 'kaleido' } });
    for (let i = 0; i < 5; i++) expect((await registry.abiOrThrow(abi.id)).id).toBe(abi.id);
    expect(calls.getAbi).toBe(1);
    await expect(registry.abiOrThrow('22222222-2222-4222-8222-222222222222')).rejects.toMatchObject({ status: 404 });
    await expect(registry.abiOrThrow('22222222-2222-4222-8222-222222222222')).rejects.toMatchObject({ status: 404 });
    expect(calls.getAbi).toBe(3);
  });

  it('reads a contract once per 5 s by address (any spelling) and by name; a miss is not cached', async () => {
    const { store, calls } = countingStore();
    const registry = new Registry(store, { baseUrl: '', prefixes: { short: 'kld', long: 'kaleido' } });
    await registry.contractOrThrow(contract.address);
    await registry.contractOrThrow(contract.address.toUpperCase().replace('0X', ''));
    expect(calls.getContract).toBe(1);
    await registry.contractOrThrow('c1');
    await registry.contractOrThrow('c1');
    expect(calls.getContract).toBe(2);
    jest.useFakeTimers({ now: Date.now() + 6_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      await registry.contractOrThrow('c1');
      expect(calls.getContract).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('forgets its contract lookups when this replica registers one', async () => {
    const { store, calls } = countingStore();
    const registry = new Registry(store, { baseUrl: '', prefixes: { short: 'kld', long: 'kaleido' } });
    await registry.contractOrThrow('c1');
    const req = { url: '/abis/x/y', headers: { host: 'gw' }, socket: {} } as never;
    await registry.register(req, abi.id, 'cd'.repeat(20), 'c1');
    const after = await registry.contractOrThrow('c1');
    expect(after.contract.address).toBe('0x' + 'cd'.repeat(20));
    expect(calls.getContract).toBe(2);
  });
});
