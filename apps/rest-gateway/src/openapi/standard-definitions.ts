import type { SwaggerSchema } from './swagger-types';

/*
 * The response bodies every generated document shares. ethconnect defines only `error` and documents
 * every 200 as the method's outputs (§2.5); a transaction POST actually answers 202 `{sent,id,msg?}`
 * async or 200 with the receipt when sync (§2.3), so we describe those too.
 */

const str = (description: string): SwaggerSchema => ({ type: 'string', description });
const decimal = (description: string): SwaggerSchema => ({ type: 'string', pattern: '^[0-9]+$', description });

/** The REST error body (§2.9; our errors.ts adds the FFEC-style `code` as ethconnect does since 2021). */
export const errorDefinition: SwaggerSchema = {
  type: 'object',
  properties: {
    error: str('Error message'),
    code: str('Error code, e.g. FFEC100098'),
  },
};

/** 202 of an async transaction or deploy (AsyncSentMsg, §2.3). */
export const asyncResponseDefinition: SwaggerSchema = {
  type: 'object',
  required: ['sent', 'id'],
  properties: {
    sent: { type: 'boolean', description: 'true once the request is accepted for submission' },
    id: str('Request id: the id special parameter if given, else a generated UUID; look the reply up at /replies/{id}'),
    msg: str('topic:partition:offset of the request message, when the gateway reports one'),
  },
};

/** 200 of a sync transaction or deploy: the reply receipt, numbers as decimal strings (§2.7 "Reply / receipt shape"). */
export const receiptDefinition: SwaggerSchema = {
  type: 'object',
  properties: {
    headers: {
      type: 'object',
      properties: {
        id: str('Reply id'),
        type: { type: 'string', enum: ['TransactionSuccess', 'TransactionFailure', 'Error'], description: 'Reply type' },
        requestId: str('Id of the request this replies to'),
        requestOffset: str('topic:partition:offset of the request, or empty'),
        timeReceived: str('When the request was received (RFC 3339)'),
        timeElapsed: { type: 'number', description: 'Seconds between request and reply' },
      },
    },
    blockHash: str('Hash of the block the transaction was mined in'),
    blockNumber: decimal('Block number'),
    contractAddress: str('Address of the deployed contract (deploys only)'),
    cumulativeGasUsed: decimal('Cumulative gas used in the block'),
    from: str('Sender address'),
    gasUsed: decimal('Gas used by the transaction'),
    nonce: decimal('Transaction nonce'),
    status: { type: 'string', enum: ['0', '1'], description: '1 on success, 0 when the transaction reverted' },
    to: str('Recipient address'),
    transactionHash: str('Transaction hash'),
    transactionIndex: decimal('Index of the transaction in the block'),
    openapi: str('Swagger of the new contract instance (deploys only)'),
    apiexerciser: str('API exerciser UI of the new contract instance (deploys only)'),
    registerAs: str('Friendly name the new contract instance was registered under (deploys only)'),
  },
};

/** 200 of an event subscription (SubscriptionInfo, §2.6). */
export const subscriptionDefinition: SwaggerSchema = {
  type: 'object',
  properties: {
    id: str('Subscription id (sb-<uuid>)'),
    path: str('/subscriptions/<id>'),
    created: str('Creation time (RFC 3339)'),
    name: str('Subscription name'),
    stream: str('Event stream id'),
    fromBlock: str('Block the subscription starts from'),
  },
};

/** 201 of registerAddress (ContractInfo, §2.2). */
export const contractInfoDefinition: SwaggerSchema = {
  type: 'object',
  properties: {
    created: str('Registration time (RFC 3339)'),
    address: str('Contract address (lowercase hex, no 0x)'),
    path: str('/contracts/<name-or-address>'),
    abi: str('ABI id'),
    openapi: str('Swagger of the contract instance'),
    registeredAs: str('Friendly name, if any'),
  },
};

/** Body of `POST …/<Event>/subscribe` (§2.6; FE abi2swagger.go buildEventPOSTPath). */
export const subscribeRequestSchema: SwaggerSchema = {
  type: 'object',
  required: ['stream'],
  properties: {
    stream: str('The ID of an event stream already configured in the REST Gateway'),
    fromBlock: { type: 'string', description: "The block number to start the subscription from: 'latest', a decimal or 0x hex number", default: 'latest' },
    name: str('Subscription name (default <address or *>:<event signature>)'),
  },
};

export const STANDARD_DEFINITIONS = {
  error: errorDefinition,
  asyncResponse: asyncResponseDefinition,
  receipt: receiptDefinition,
  subscription: subscriptionDefinition,
  contractInfo: contractInfoDefinition,
} as const satisfies Record<string, SwaggerSchema>;
