import { getNodeError, type NodeError } from '@hsm-signer/ethereum';
import { redactUrl } from '@hsm-signer/logging';

export type BatchResult<T = unknown> = { ok: true; result: T } | { ok: false; error: NodeRequestError; nodeError?: NodeError };

export interface RawReceipt {
  transactionHash: string;
  blockNumber: string;
  blockHash: string;
  status?: string;
  gasUsed: string;
  effectiveGasPrice?: string;
}

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

  /** Several calls in one HTTP round trip (JSON-RPC batch); each answer on its own. */
  async batch(calls: { method: string; params: unknown[] }[]): Promise<BatchResult[]> {
    if (calls.length === 0) return [];
    const first = this.id + 1;
    this.id += calls.length;
    const body = await this.post(
      'batch',
      calls.map((c, i) => ({ jsonrpc: '2.0', id: first + i, method: c.method, params: c.params })),
    );
    if (!Array.isArray(body)) throw new NodeRequestError('the node did not answer the batch with an array');
    const byId = new Map<number, { result?: unknown; error?: { code: number; message: string; data?: unknown } }>();
    for (const item of body as { id: number; result?: unknown; error?: { code: number; message: string } }[]) byId.set(Number(item.id), item);
    return calls.map((c, i) => {
      const item = byId.get(first + i);
      if (!item) return { ok: false, error: new NodeRequestError(`${c.method}: no answer in the batch`) };
      if (item.error) {
        const message = String(item.error.message ?? 'node error');
        return { ok: false, error: new NodeRequestError(`${c.method}: ${message}`), nodeError: getNodeError({ code: Number(item.error.code ?? -32000), message, data: item.error.data }) };
      }
      return { ok: true, result: item.result };
    });
  }

  /**
   * eth_sendRawTransaction. Resolves 'sent' or the node's classified error; throws NodeRequestError
   * only when the node could not be asked (then the bytes may or may not have arrived: "maybe sent").
   */
  async sendRaw(raw: string): Promise<{ kind: 'sent' } | { kind: 'node-error'; error: NodeError }> {
    const [result] = await this.batch([{ method: 'eth_sendRawTransaction', params: [raw] }]);
    if (result.ok) return { kind: 'sent' };
    if (result.nodeError) return { kind: 'node-error', error: result.nodeError };
    throw result.error;
  }

  private async post(method: string, payload: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new NodeRequestError(`${method} to ${redactUrl(this.url)} failed: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) throw new NodeRequestError(`${method} to ${redactUrl(this.url)} answered HTTP ${response.status}`);
    return response.json().catch((error) => {
      throw new NodeRequestError(`${method}: the node answered no JSON`, { cause: error });
    });
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
