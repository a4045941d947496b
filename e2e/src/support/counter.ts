import { Interface } from 'ethers';
import counter from '../fixtures/counter.json';

/** The compiled Counter contract (e2e/src/fixtures/Counter.sol; fixtures.spec.ts proves the fixture matches the source). */
export const COUNTER_ABI = counter.abi;
export const COUNTER_BYTECODE = counter.bytecode;
export const counterInterface = new Interface(COUNTER_ABI);

/** Creation code + ABI-encoded constructor arguments, for a raw eth_sendTransaction deploy. */
export function counterDeployData(start: bigint, label: string): string {
  return COUNTER_BYTECODE + counterInterface.encodeDeploy([start, label]).slice(2);
}
