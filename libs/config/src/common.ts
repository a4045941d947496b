import { bool, int, oneOf, str, url, urlList } from './setting';

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
    description: 'Serve Prometheus metrics at GET /metrics on the service\'s HTTP port (the rpc-gateway: its JSON-RPC port; the others: their health port). See docs/metrics.md.',
  }),
};
