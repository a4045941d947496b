import { address, hexData, integer, literal, object, optional, quantity, string, type Infer } from '../validate';

/**
 * The transaction an asynchronous REST request asks for, already encoded by the gateway that
 * accepted it (ABI resolved, parameters converted): the worker that sends it needs no ABI.
 * Quantities are JSON-RPC hex, as eth_sendTransaction takes them.
 */
export const parseRestTransaction = object({
  from: address(),
  to: optional(address()),
  data: hexData(),
  value: optional(quantity()),
  gas: optional(quantity()),
  gasPrice: optional(quantity()),
  /** A nonce the client fixed (webhook messages' `nonce`): honoured and recorded by the ledger. */
  nonce: optional(quantity()),
});
export type RestTransaction = Infer<typeof parseRestTransaction>;

/**
 * An accepted asynchronous REST request (ethconnect's SendTransaction / DeployContract message),
 * stored in JetStream between the gateway's 202 and its processing by any replica. Published with
 * Nats-Msg-Id = `id`, so a repeat within the stream's duplicate window is stored once.
 */
export const parseRestAsyncRequest = object({
  /** The request id (`kld-id`, or a generated UUID): the reply's id and the ledger's idempotency key. */
  id: string({ min: 1, max: 200 }),
  kind: literal('send', 'deploy'),
  tx: parseRestTransaction,
  /** Epoch ms when the gateway accepted the request (the reply's timeElapsed counts from it). */
  receivedAt: integer({ min: 0 }),
  /** The ABI the request was made against (reply headers.requestABIId; a deploy registers the new contract under it). */
  abiId: optional(string({ min: 1, max: 100 })),
  /** A deploy's friendly name for /contracts/<name> (`kld-register`). */
  registerAs: optional(string({ min: 1, max: 200 })),
  /** The gateway's public URL at acceptance, for the `openapi` / `apiexerciser` links of a deploy's receipt. */
  baseUrl: string({ max: 2000 }),
  /** The request as the client sent it (JSON), quoted in an Error reply as ethconnect's requestPayload. */
  requestPayload: string({ max: 2 * 1024 * 1024 }),
});
export type RestAsyncRequest = Infer<typeof parseRestAsyncRequest>;
