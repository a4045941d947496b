import type { IncomingMessage } from 'node:http';
import { readBodyBytes } from '@hsm-signer/transactions';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`request body exceeds the limit of ${limitBytes} bytes`);
  }
}

/** The raw JSON-RPC request body as UTF-8, at most `limitBytes` (else BodyTooLargeError: HTTP 413). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  return (await readBodyBytes(req, limitBytes, () => new BodyTooLargeError(limitBytes))).toString('utf8');
}
