import { redactUrl } from '@hsm-signer/logging';

/** The Ethereum node could not be asked (down, timeout, HTTP error, JSON-RPC error). */
export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The few reads nonce-service needs from the node. Off the hot path: it runs once per account, the
 * first time the account is seen (and, in issue 3, on floor syncs).
 */
export class ChainReader {
  private chainIdPromise?: Promise<number>;
  private id = 0;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** The node's chain id (cached after the first success). */
  chainId(): Promise<number> {
    if (!this.chainIdPromise) {
      this.chainIdPromise = this.call<string>('eth_chainId', []).then((hex) => Number(BigInt(hex)));
      this.chainIdPromise.catch(() => (this.chainIdPromise = undefined));
    }
    return this.chainIdPromise;
  }

  /** eth_getTransactionCount(address, 'pending'): the first nonce the node's pool does not hold. */
  async pendingCount(address: string): Promise<number> {
    return Number(BigInt(await this.call<string>('eth_getTransactionCount', [address, 'pending'])));
  }

  /** eth_getTransactionCount(address, 'latest'): nonces below it are consumed on chain. */
  async minedCount(address: string): Promise<number> {
    return Number(BigInt(await this.call<string>('eth_getTransactionCount', [address, 'latest'])));
  }

  private async call<T>(method: string, params: unknown[]): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new NodeRequestError(`${method} to ${redactUrl(this.url)} failed: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) throw new NodeRequestError(`${method} to ${redactUrl(this.url)} answered HTTP ${response.status}`);
    const body = (await response.json().catch(() => ({}))) as { result?: T; error?: { message?: string } };
    if (body.error) throw new NodeRequestError(`${method}: ${body.error.message ?? 'node error'}`);
    if (body.result === undefined) throw new NodeRequestError(`${method}: the node returned no result`);
    return body.result;
  }
}
