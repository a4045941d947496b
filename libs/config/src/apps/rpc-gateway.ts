import { commonSettings, nodeSettings } from '../common';
import { defineConfig, int, num, oneOf, str, url } from '../setting';

export const rpcGatewayConfig = defineConfig('rpc-gateway', {
  ...commonSettings,
  ...nodeSettings,
  host: str({ env: 'RPC_HOST', default: '0.0.0.0', description: 'Interface the JSON-RPC endpoint listens on.' }),
  port: int({ env: 'RPC_PORT', default: 8545, min: 0, max: 65535, description: 'Port of the JSON-RPC endpoint.' }),
  chainId: int({
    env: 'CHAIN_ID',
    default: 0,
    min: 0,
    description: 'Expected chain id. When set (non-zero) the gateway refuses to start if the node reports another one. 0 = take the node\'s.',
  }),
  nodeBatchMax: int({
    env: 'ETH_NODE_BATCH_MAX',
    default: 100,
    min: 1,
    description:
      "Most of the send path's own node calls (gas estimates, raw transaction sends) made in one event-loop turn that share one JSON-RPC batch request. 1 = one HTTP request per call. Keep it at or below the node's batch limit (geth: 1000).",
  }),
  feeCacheMs: int({
    env: 'FEE_CACHE_MS',
    default: 1_000,
    min: 0,
    description:
      "How long the latest block's base fee, the priority fee and the gas price are reused by later sends (one read per period for all sends). 0 = read them for every send. Keep it near the block time: maxFeePerGas = 2 × base fee + tip covers about six blocks of base-fee rises.",
  }),
  estimateBlock: oneOf<'latest' | 'pending'>({
    env: 'GAS_ESTIMATE_BLOCK',
    default: 'latest',
    values: ['latest', 'pending'] as const,
    description:
      "Block eth_estimateGas runs against. 'latest' is geth's own default; 'pending' also sees the sender's transactions still in the pool (anvil's default, which there rebuilds the pending block for every estimate: ~1.5 ms of node CPU per send with many pending).",
  }),
  gasMultiplier: num({ env: 'GAS_ESTIMATE_MULTIPLIER', default: 1.2, min: 1, description: 'Multiplier applied to eth_estimateGas when the caller gives no gas.' }),
  bodyLimitBytes: int({ env: 'RPC_BODY_LIMIT_BYTES', default: 5 * 1024 * 1024, min: 1024, description: 'Largest JSON-RPC request body accepted (larger: HTTP 413), and largest WebSocket message (larger: the connection is closed with code 1009).' }),
  batchLimit: int({ env: 'RPC_BATCH_LIMIT', default: 1000, min: 1, description: 'Most requests in one JSON-RPC batch (geth\'s default is 1000).' }),
  nodeWsUrl: url({
    env: 'ETH_NODE_WS_URL',
    default: '',
    protocols: ['ws', 'wss'],
    description:
      "The node's WebSocket JSON-RPC URL, used only for subscriptions (eth_subscribe) of clients connected to the gateway over WebSocket: one node connection per client connection that subscribes. Unset: ETH_NODE_URL with http→ws, https→wss (anvil serves both on one port, and so does geth when --ws is on the --http port).",
  }),
  wsPingIntervalMs: int({
    env: 'RPC_WS_PING_INTERVAL_MS',
    default: 30_000,
    min: 100,
    description: 'How often the WebSocket endpoint pings each client connection (and each node connection); one not answering with a pong by the next ping is dropped.',
  }),
  wsMaxBufferedBytes: int({
    env: 'RPC_WS_MAX_BUFFERED_BYTES',
    default: 16 * 1024 * 1024,
    min: 1024,
    description:
      'Most bytes of replies and subscription notifications waiting to be sent to one WebSocket client; a client reading slower than that is disconnected (close code 1008) instead of the gateway buffering without bound.',
  }),
  accountsMaxAgeMs: int({
    env: 'ACCOUNTS_CACHE_MAX_AGE_MS',
    default: 60_000,
    min: 100,
    description: 'How old the cached account list may get before eth_accounts re-reads it from key-discovery (accounts.changed events refresh it at once).',
  }),
});
