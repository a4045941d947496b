import { InternalJsonRpcError, InvalidParamsError, type JsonRpcRequest } from '@hsm-signer/ethereum';
import type { AccountDirectory, TransactionSender } from '@hsm-signer/transactions';
import { SigningMethods, type SigningMethod } from './signing-methods';

/**
 * The methods the gateway answers itself (issue 2 scope 7); everything else goes to the node.
 * eth_accounts / personal_listAccounts list key-discovery's accounts — never the node's own —
 * lower-case and sorted, as Web3Signer does (research/rpc-signers.md §1.4); ethers, viem, web3.js
 * and cast all accept lower-case addresses. The signing methods (eth_sign, personal_sign,
 * eth_signTypedData*, eth_signTransaction) are answered by {@link SigningMethods} and never reach
 * the node, even when no signer is wired (a test double): the node would sign with its own keys.
 */
export class LocalMethods {
  static readonly methods = new Set(['eth_accounts', 'personal_listAccounts', 'eth_sendTransaction', ...SigningMethods.methods]);

  constructor(
    private readonly accounts: Pick<AccountDirectory, 'list'>,
    private readonly sender: Pick<TransactionSender, 'sendTransaction'>,
    private readonly signing?: Pick<SigningMethods, 'call'>,
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
        if (SigningMethods.methods.has(request.method)) {
          if (!this.signing) throw new InternalJsonRpcError(`${request.method} is not available: no signer is configured`);
          return this.signing.call(request.method as SigningMethod, request.params);
        }
        throw new Error(`not a local method: ${request.method}`);
    }
  }
}
