import { JSONCodec, type NatsConnection, type Subscription } from 'nats';
import { keccak256, type TransactionLike, type Wallet } from 'ethers';
import { ErrorCode, Subjects, type SignTransactionRequest, type UnsignedTransaction } from '@hsm-signer/contracts';

const codec = JSONCodec<unknown>();

/**
 * FIXTURE standing in for key-discovery + signer-service on NATS (nonce-service-level tests only):
 * answers accounts.resolve and signer.sign-transaction in Nest's reply envelope, signing with an
 * ethers Wallet whose address is funded on anvil. The real signer-service path is covered by the
 * e2e tests.
 */
export function startSignerFixture(connection: NatsConnection, wallets: Map<string, Wallet>): Subscription[] {
  const reply = (msg: { data: Uint8Array; respond(data: Uint8Array): boolean }, fn: (data: unknown) => Promise<unknown>) => {
    const envelope = codec.decode(msg.data) as { id: string; data: unknown };
    fn(envelope.data).then(
      (response) => msg.respond(codec.encode({ id: envelope.id, response, isDisposed: true })),
      (error) => msg.respond(codec.encode({ id: envelope.id, err: { code: ErrorCode.SigningFailed, message: String(error) }, isDisposed: true })),
    );
  };
  return [
    connection.subscribe(Subjects.accountsResolve, {
      callback: (_e, msg) =>
        reply(msg, async (data) => {
          const address = (data as { address: string }).address.toLowerCase();
          return { account: wallets.has(address) ? { address, backendId: 'fixture', keyId: address, status: 'active' } : null };
        }),
    }),
    connection.subscribe(Subjects.signerSignTransaction, {
      callback: (_e, msg) =>
        reply(msg, async (data) => {
          const request = data as SignTransactionRequest;
          const wallet = wallets.get(request.key.keyId);
          if (!wallet) throw new Error('unknown key');
          const raw = await wallet.signTransaction(toEthers(request.tx));
          return { raw, hash: keccak256(raw) };
        }),
    }),
  ];
}

function toEthers(tx: UnsignedTransaction): TransactionLike {
  return {
    type: tx.type,
    chainId: tx.chainId,
    nonce: tx.nonce,
    to: tx.to,
    value: BigInt(tx.value),
    data: tx.data,
    gasLimit: BigInt(tx.gasLimit),
    ...(tx.gasPrice ? { gasPrice: BigInt(tx.gasPrice) } : {}),
    ...(tx.maxFeePerGas ? { maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas ?? tx.maxFeePerGas) } : {}),
  };
}

