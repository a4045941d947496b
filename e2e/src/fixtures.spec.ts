import { readFileSync } from 'node:fs';
import { ContractFactory, JsonRpcProvider, Wallet, type Contract } from 'ethers';
import { ANVIL_DEV_KEY, startAnvil, type AnvilNode } from '@hsm-signer/testing';
import { COUNTER_FIXTURE, compileCounter } from './support/compile-counter';
import { COUNTER_ABI, COUNTER_BYTECODE } from './support/counter';

// The e2e contract fixture is checked here, without the stack, so a failure in the e2e suites can
// never be blamed on the fixture itself.
describe('Counter fixture', () => {
  it('is exactly what the pinned solc compiles Counter.sol to', () => {
    const committed = JSON.parse(readFileSync(COUNTER_FIXTURE, 'utf8'));
    expect(compileCounter()).toEqual(committed);
  });

  describe('on a bare anvil (signed locally with the dev key)', () => {
    let anvil: AnvilNode;
    let provider: JsonRpcProvider;
    beforeAll(async () => {
      anvil = await startAnvil();
      // cacheTimeout -1: ethers otherwise reuses the pending nonce it read < 250 ms ago (automine is faster).
      provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    });
    afterAll(async () => {
      provider?.destroy();
      await anvil?.stop();
    });

    it('deploys with more than 90,000 gas, counts, and reverts in fail()', async () => {
      const wallet = new Wallet(ANVIL_DEV_KEY, provider);
      const contract = (await new ContractFactory(COUNTER_ABI, COUNTER_BYTECODE, wallet).deploy(5n, 'fixture')) as Contract;
      const receipt = await contract.deploymentTransaction()!.wait();
      expect(receipt!.status).toBe(1);
      expect(receipt!.gasUsed).toBeGreaterThan(90_000n);

      await (await contract.getFunction('increment')(3n)).wait();
      expect(await contract.getFunction('count')()).toBe(8n);
      expect(await contract.getFunction('label')()).toBe('fixture');
      await expect(contract.getFunction('fail').staticCall()).rejects.toThrow(/Counter: always fails/);
    });
  });
});
