import { id } from 'ethers';
import type { TransactionRequest } from '@hsm-signer/ethereum';

/**
 * Hash of a normalised eth_sendTransaction request, sent with a client request id so that the same
 * id with a different payload is refused (issue 3 scope 3). Normalised = parsed (addresses and hex
 * lower-cased, quantities as bigints), fields in a fixed order, absent fields omitted: two JSON
 * spellings of one request hash alike. keccak256 of ~300 bytes: a few µs, and only with a request id.
 */
export function requestPayloadHash(request: TransactionRequest): string {
  const q = (v: bigint | number | undefined) => (v === undefined ? null : '0x' + v.toString(16));
  return id(
    JSON.stringify([
      request.from,
      request.to,
      q(request.value),
      request.data.toLowerCase(),
      q(request.gas),
      q(request.gasPrice),
      q(request.maxFeePerGas),
      q(request.maxPriorityFeePerGas),
      q(request.nonce),
      request.type ?? null,
      request.chainId ?? null,
      request.accessList ?? null,
    ]),
  );
}
