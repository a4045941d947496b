import { bool, int, num, oneOf, str, url, urlList } from './setting';

/** Settings every service shares. */
export const commonSettings = {
  natsUrl: urlList({ env: 'NATS_URL', default: 'nats://127.0.0.1:4222', description: 'NATS server URL(s), comma-separated.' }),
  natsRequestTimeoutMs: int({
    env: 'NATS_REQUEST_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    description: 'How long a request to another service may take before the caller gets a timeout error.',
  }),
  natsDrainTimeoutMs: int({
    env: 'NATS_DRAIN_TIMEOUT_MS',
    default: 10_000,
    min: 0,
    description:
      'Services answering NATS requests (nonce-service, signer-service, key-discovery): at shutdown, the longest they wait, after unsubscribing, for the requests they already have to be answered before closing the connection. Idle, shutdown does not wait.',
  }),
  logLevel: oneOf({ env: 'LOG_LEVEL', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, description: 'Log level (pino).' }),
  serviceName: str({ env: 'SERVICE_INSTANCE', default: '', description: 'Instance name used in logs and NATS connection names (defaults to app name + pid).' }),
};

export const databaseSetting = {
  databaseUrl: url({
    env: 'DATABASE_URL',
    required: true,
    secret: true,
    protocols: ['postgres', 'postgresql'],
    description: 'PostgreSQL connection URL. Migrations are applied at start-up.',
  }),
};

export const nodeSettings = {
  nodeUrl: url({ env: 'ETH_NODE_URL', default: 'http://127.0.0.1:8555', protocols: ['http', 'https'], description: 'Upstream Ethereum node JSON-RPC URL.' }),
  nodeTimeoutMs: int({ env: 'ETH_NODE_TIMEOUT_MS', default: 10_000, min: 100, description: 'Timeout for one request to the Ethereum node.' }),
};

/** The services that serve Prometheus metrics (rpc-gateway, signer-service, nonce-service, key-discovery). */
export const metricsSetting = {
  metricsEnabled: bool({
    env: 'METRICS_ENABLED',
    default: true,
    description: 'Serve Prometheus metrics at GET /metrics on the service\'s HTTP port (the rpc-gateway: its JSON-RPC port; the rest-gateway: its REST port; the others: their health port). See docs/metrics.md.',
  }),
};

/** The send path (libs/transactions) both gateways run: the same settings, the same meaning. */
export const sendPathSettings = {
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
  accountsMaxAgeMs: int({
    env: 'ACCOUNTS_CACHE_MAX_AGE_MS',
    default: 60_000,
    min: 100,
    description: 'How old the cached account list may get before eth_accounts (rpc-gateway) or an unknown `from` (both gateways) re-reads it from key-discovery (accounts.changed events refresh it at once).',
  }),
};
