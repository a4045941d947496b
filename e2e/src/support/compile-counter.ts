import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as solc from 'solc';

export const COUNTER_SOURCE = join(__dirname, '..', 'fixtures', 'Counter.sol');
export const COUNTER_FIXTURE = join(__dirname, '..', 'fixtures', 'counter.json');

export interface CompiledContract {
  compiler: string;
  abi: unknown[];
  bytecode: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/**
 * Compiles Counter.sol with the pinned solc-js (in-process, no download), with fixed settings and
 * no metadata hash so the output is byte-for-byte reproducible. evmVersion paris: no PUSH0, so the
 * code also runs on chains started with an older hardfork.
 */
export function compileCounter(): CompiledContract {
  const input = {
    language: 'Solidity',
    sources: { 'Counter.sol': { content: readFileSync(COUNTER_SOURCE, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'paris',
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contract = output.contracts['Counter.sol']['Counter'];
  return { compiler: solc.version(), abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}
