/**
 * Every NATS subject in the system. Versioned (`hsm.v1.…`) so a breaking payload change gets a new
 * subject and old and new replicas can run side by side during a rollout.
 */
export const Subjects = {
  /** request/reply, queue group {@link QueueGroups.signer}: sign an unsigned transaction. */
  signerSignTransaction: 'hsm.v1.signer.sign-transaction',
  /** request/reply, queue group signer: many sign-transaction requests in one message (batch.ts). */
  signerSignTransactionBatch: 'hsm.v1.signer.sign-transaction-batch',
  /**
   * request/reply, queue group signer: sign a 32-byte digest (an EIP-191 message or EIP-712 hash the
   * rpc-gateway computed for eth_sign / personal_sign / eth_signTypedData*) with a key.
   */
  signerSignDigest: 'hsm.v1.signer.sign-digest',
  /** request/reply, queue group signer: list every key of every configured backend. */
  signerListKeys: 'hsm.v1.signer.list-keys',
  /** request/reply, queue group nonce-service: allocate the next nonce for (chainId, address). */
  nonceAllocate: 'hsm.v1.nonce.allocate',
  /** request/reply, queue group nonce-service: many allocate requests in one message (batch.ts). */
  nonceAllocateBatch: 'hsm.v1.nonce.allocate-batch',
  /** request/reply, queue group nonce-service: record the outcome of an allocated transaction. */
  nonceRecordOutcome: 'hsm.v1.nonce.record-outcome',
  /** request/reply, queue group nonce-service: many record-outcome requests in one message (batch.ts). */
  nonceRecordOutcomeBatch: 'hsm.v1.nonce.record-outcome-batch',
  /** request/reply, queue group key-discovery: the current account list. */
  accountsList: 'hsm.v1.accounts.list',
  /** request/reply, queue group key-discovery: one account by address. */
  accountsResolve: 'hsm.v1.accounts.resolve',
  /** event (fan-out, no queue group): the account list changed. */
  accountsChanged: 'hsm.v1.accounts.changed',
  /**
   * JetStream (stream REST_ASYNC_STREAM, work queue): asynchronous REST requests accepted with 202,
   * taken by any rest-gateway replica (durable consumer {@link QueueGroups.restGateway}).
   */
  restRequests: 'hsm.v1.rest.requests',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];

/** Queue groups: replicas of one service share its request subjects. */
export const QueueGroups = {
  signer: 'signer',
  nonce: 'nonce-service',
  keyDiscovery: 'key-discovery',
  /** The durable JetStream consumer the rest-gateway replicas share. */
  restGateway: 'rest-gateway',
} as const;
