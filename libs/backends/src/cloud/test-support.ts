/**
 * Helpers for the cloud connectors' integration tests (imported by *.spec.ts only): sign many
 * transactions through a digest-signing backend and check every result the way signer-service
 * post-processes it (research/backend-apis.md §E).
 */
import { Transaction } from 'ethers';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import { buildSignedTransaction, toEthereumSignature, unsignedDigest } from '@hsm-signer/ethereum';
import type { BackendKeyInfo, BackendLogger, SigningBackend } from '../types';

export interface DigestRunResult {
  invalid: number;
  yParity: [number, number];
}

export function sampleTransaction(i: number, to: string): UnsignedTransaction {
  const common = { chainId: 31337, nonce: i, to, value: `0x${(i + 1).toString(16)}`, data: i % 3 === 0 ? '0x' : `0x${'ab'.repeat(i % 7)}`, gasLimit: '0x5208' };
  return i % 2 === 0 ? { ...common, type: 0, gasPrice: '0x3b9aca00' } : { ...common, type: 2, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' };
}

/** Signs `count` legacy and EIP-1559 transactions; a result is invalid unless ethers recovers `key.address`. */
export async function signManyTransactions(backend: SigningBackend, key: BackendKeyInfo, count: number): Promise<DigestRunResult> {
  if (!backend.signDigest || !key.publicKey) throw new Error('not a digest-signing backend key');
  const result: DigestRunResult = { invalid: 0, yParity: [0, 0] };
  for (let i = 0; i < count; i++) {
    const tx = sampleTransaction(i, '0x00000000000000000000000000000000000000aa');
    const digest = unsignedDigest(tx);
    const signature = await backend.signDigest(key.keyId, digest);
    try {
      const eth = toEthereumSignature(digest, signature, key.publicKey);
      const { raw } = buildSignedTransaction(tx, eth);
      const parsed = Transaction.from(raw);
      if (parsed.from?.toLowerCase() !== key.address) result.invalid++;
      else result.yParity[eth.yParity]++;
    } catch {
      result.invalid++;
    }
  }
  return result;
}

/** A logger that keeps every line (message + JSON fields) so tests can search it for secrets. */
export function captureLogger(): BackendLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
