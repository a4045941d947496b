/**
 * The signing methods the gateway answers for key-discovery's accounts, never the node: eth_sign,
 * personal_sign (EIP-191), eth_signTypedData / _v3 / _v4 (EIP-712), eth_signTransaction. Passing
 * them through would let the node sign with its own (dev) keys or leak the request.
 *
 * - messages and typed data are hashed here (signing-payloads.ts) and only the 32-byte digest goes
 *   to signer-service (hsm.v1.signer.sign-digest), which returns r‖s‖v with v = 27/28 (geth);
 * - eth_signTransaction completes the transaction exactly as eth_sendTransaction does (chain id,
 *   type, eth_estimateGas × multiplier, fees: TransactionSender.prepare) but takes the caller's
 *   nonce, allocates none and broadcasts nothing; it returns the raw signed transaction as a hex
 *   string (Web3Signer's answer; ethers, viem, web3.js and cast accept it).
 *
 * Errors follow Web3Signer (research/rpc-signers.md §1.8): an unknown account is -32000 "No
 * unlocked account matches the Sender" with HTTP 200 for these methods; bad params -32602.
 */
import { Routes, ErrorCode, type Account } from '@hsm-signer/contracts';
import { JsonRpcError, JsonRpcErrorCode, NO_UNLOCKED_ACCOUNT_MESSAGE, NoUnlockedAccountError, withNonce } from '@hsm-signer/ethereum';
import { RemoteServiceError, type NatsBus } from '@hsm-signer/messaging';
import { toClientError, type AccountDirectory, type TransactionSender } from '@hsm-signer/transactions';
import { parseMessageSignParams, parseSignTransactionParams, parseTypedDataParams, personalMessageDigest, typedDataDigest } from './signing-payloads';

export const SIGNING_METHODS = ['eth_sign', 'personal_sign', 'eth_signTypedData', 'eth_signTypedData_v3', 'eth_signTypedData_v4', 'eth_signTransaction'] as const;
export type SigningMethod = (typeof SIGNING_METHODS)[number];

export interface SigningMethodsOptions {
  accounts: Pick<AccountDirectory, 'resolve'>;
  /** The send path's completion (chain id check, type, gas estimate, fees), reused by eth_signTransaction. */
  sender: Pick<TransactionSender, 'chainId' | 'prepare'>;
  /** NATS requests to signer-service. */
  bus: Pick<NatsBus, 'request'>;
}

export class SigningMethods {
  static readonly methods: ReadonlySet<string> = new Set(SIGNING_METHODS);

  constructor(private readonly options: SigningMethodsOptions) {}

  /** The method's result: a 65-byte signature or a raw signed transaction, both 0x hex strings. */
  async call(method: SigningMethod, params: unknown): Promise<string> {
    switch (method) {
      case 'eth_sign':
      case 'personal_sign': {
        const { address, message } = parseMessageSignParams(method, params);
        return this.signDigest(address, personalMessageDigest(message));
      }
      case 'eth_signTypedData':
      case 'eth_signTypedData_v3':
      case 'eth_signTypedData_v4': {
        const { address, typedData } = parseTypedDataParams(method, params);
        // Hashed before the account is resolved: bad typed data is the caller's to fix whoever signs.
        return this.signDigest(address, typedDataDigest(typedData));
      }
      case 'eth_signTransaction':
        return this.signTransaction(params);
    }
  }

  private async signDigest(address: string, digest: string): Promise<string> {
    const account = await this.resolve(address);
    try {
      const reply = await this.options.bus.request(Routes.signerSignDigest, { from: address, key: { backendId: account.backendId, keyId: account.keyId }, digest });
      return reply.signature;
    } catch (error) {
      if (error instanceof RemoteServiceError && error.code === ErrorCode.UnsupportedTransaction) {
        // Vault ethsign: a whole-transaction backend (research/backend-apis.md §A.2). Not the caller's
        // params (-32602), not our failure (-32603): this account cannot do this method.
        throw new JsonRpcError(JsonRpcErrorCode.Server, `account ${address} cannot sign messages or typed data: ${error.message} (${error.code})`, { cause: error });
      }
      throw this.clientError(error);
    }
  }

  private async signTransaction(params: unknown): Promise<string> {
    const request = parseSignTransactionParams(params);
    const account = await this.resolve(request.from);
    const chainId = await this.options.sender.chainId();
    // Node errors (insufficient funds or a revert on estimate) reach the caller verbatim, as on a send.
    const prepared = await this.options.sender.prepare(request, chainId, account.transactionTypes);
    try {
      const signed = await this.options.bus.request(Routes.signerSignTransaction, {
        from: request.from,
        key: { backendId: account.backendId, keyId: account.keyId },
        tx: withNonce(prepared, request.nonce),
      });
      return signed.raw;
    } catch (error) {
      throw this.clientError(error);
    }
  }

  /** The account, or -32000 "No unlocked account matches the Sender" with HTTP 200 (Web3Signer, §1.8). */
  private async resolve(address: string): Promise<Account> {
    try {
      return await this.options.accounts.resolve(address);
    } catch (error) {
      throw this.clientError(error);
    }
  }

  private clientError(error: unknown): JsonRpcError {
    const e = toClientError(error);
    if (e instanceof NoUnlockedAccountError) return new JsonRpcError(JsonRpcErrorCode.Server, NO_UNLOCKED_ACCOUNT_MESSAGE, { cause: e });
    return e;
  }
}
