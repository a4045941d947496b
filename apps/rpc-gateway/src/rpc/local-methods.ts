import { InvalidParamsError, type JsonRpcRequest } from '@hsm-signer/ethereum';
import type { AccountDirectory, TransactionSender } from '@hsm-signer/transactions';

/**
 * The methods the gateway answers itself (issue 2 scope 7); everything else goes to the node.
 * eth_accounts / personal_listAccounts list key-discovery's accounts — never the node's own —
 * lower-case and sorted, as Web3Signer does (research/rpc-signers.md §1.4); ethers, viem, web3.js
 * and cast all accept lower-case addresses.
 */
export class LocalMethods {
  static readonly methods = new Set(['eth_accounts', 'personal_listAccounts', 'eth_sendTransaction']);

  constructor(
    private readonly accounts: Pick<AccountDirectory, 'list'>,
    private readonly sender: Pick<TransactionSender, 'sendTransaction'>,
  ) {}

  handles(method: string): boolean {
    return LocalMethods.methods.has(method);
  }

  async call(request: JsonRpcRequest, context: { requestId?: string }): Promise<unknown> {
    switch (request.method) {
      case 'eth_accounts':
      case 'personal_listAccounts':
        return (await this.accounts.list()).map((a) => a.address);
      case 'eth_sendTransaction': {
        const params = request.params;
        if (!Array.isArray(params) || params.length < 1) throw new InvalidParamsError('expected [transaction]');
        return this.sender.sendTransaction(params[0], { requestId: context.requestId });
      }
      default:
        throw new Error(`not a local method: ${request.method}`);
    }
  }
}
