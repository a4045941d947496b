import { commonSettings, databaseSetting, metricsSetting, nodeSettings, sendPathSettings } from '../common';
import { defineConfig, int, str, url, type Setting } from '../setting';

/** A prefix for the special parameters (`<short>-from`, header `x-<long>-from`): letters and digits only. */
function prefix(o: { env: string; default: string; description: string }): Setting<string> {
  return {
    ...o,
    type: 'prefix',
    parse: (raw) => {
      const value = raw.trim().toLowerCase();
      if (!/^[a-z][a-z0-9]{0,19}$/.test(value)) throw new Error('must be 1–20 letters or digits, starting with a letter');
      return value;
    },
  };
}

export const restGatewayConfig = defineConfig('rest-gateway', {
  ...commonSettings,
  ...nodeSettings,
  ...databaseSetting,
  ...sendPathSettings,
  ...metricsSetting,
  host: str({ env: 'REST_HOST', default: '0.0.0.0', description: 'Interface the REST API listens on.' }),
  port: int({ env: 'REST_PORT', default: 8080, min: 0, max: 65535, description: 'Port of the REST API.' }),
  baseUrl: url({
    env: 'REST_BASE_URL',
    default: '',
    protocols: ['http', 'https'],
    description:
      "The gateway's public URL (e.g. `https://rest.example.com/api`), used in the generated OpenAPI (host, basePath, schemes) and in the `openapi` / `apiexerciser` links of receipts, like ethconnect's openapi.baseURL. Unset: taken from each request (Host, X-Forwarded-Host and X-Forwarded-Proto headers).",
  }),
  prefixShort: prefix({
    env: 'REST_PREFIX_SHORT',
    default: 'kld',
    description:
      "Prefix of the special query parameters in the generated OpenAPI (`kld-from`, `kld-sync`…), like ethconnect's PREFIX_SHORT. Requests are always accepted with `kld-` and `fly-` (and with this prefix), whatever it is.",
  }),
  prefixLong: prefix({
    env: 'REST_PREFIX_LONG',
    default: 'kaleido',
    description:
      "Prefix of the special headers in the generated OpenAPI (`x-kaleido-from`…) and of the OpenAPI extensions, like ethconnect's PREFIX_LONG. Requests are always accepted with `x-kaleido-` and `x-firefly-` headers (and with this prefix).",
  }),
  bodyLimitBytes: int({
    env: 'REST_BODY_LIMIT_BYTES',
    default: 1024 * 1024,
    min: 1024,
    description: 'Largest JSON or YAML request body (method calls, deploys, webhook messages); larger: HTTP 413. ethconnect allows 1 MiB.',
  }),
  uploadLimitBytes: int({
    env: 'REST_UPLOAD_LIMIT_BYTES',
    default: 20 * 1024 * 1024,
    min: 1024,
    description: 'Largest POST /abis upload (ABI, bytecode, Solidity sources or archives); larger: HTTP 413.',
  }),
  syncTimeoutMs: int({
    env: 'REST_SYNC_TIMEOUT_MS',
    default: 60_000,
    min: 1_000,
    description:
      "How long a synchronous transaction (`kld-sync=true`) waits for its receipt before answering HTTP 500 with the transaction hash (ethconnect's maxTXWaitTime). The transaction is not abandoned: it stays followed by nonce-service.",
  }),
  receiptPollMs: int({
    env: 'REST_RECEIPT_POLL_MS',
    default: 250,
    min: 10,
    description:
      'How often waiting synchronous requests look for their receipts (one ledger statement and one node batch for all of them per round), and asynchronous replies are completed from the ledger.',
  }),
  asyncStream: str({
    env: 'REST_ASYNC_STREAM',
    default: 'HSM_REST_REQUESTS',
    description:
      'JetStream stream (created if absent, work-queue retention, subject hsm.v1.rest.requests) holding asynchronous requests between the 202 answer and their processing; every replica takes work from it, so an accepted request survives a gateway crash.',
  }),
  asyncConcurrency: int({
    env: 'REST_ASYNC_CONCURRENCY',
    default: 64,
    min: 1,
    max: 10_000,
    description: 'Asynchronous requests one replica processes at once (signing and submitting; waiting for the receipt does not hold a slot).',
  }),
  asyncMaxDeliveries: int({
    env: 'REST_ASYNC_MAX_DELIVERIES',
    default: 20,
    min: 1,
    description:
      'How often an asynchronous request is tried while a service it needs is unavailable (NATS request timeout, ledger or node down), 1 s × 2 up to 30 s apart; after the last try its reply is an Error.',
  }),
  repliesQueryLimit: int({
    env: 'REST_REPLIES_QUERY_LIMIT',
    default: 100,
    min: 1,
    description: "Largest `limit` GET /replies accepts (ethconnect's queryLimit); the default limit is 10.",
  }),
  repliesRetentionDays: int({
    env: 'REST_REPLIES_RETENTION_DAYS',
    default: 30,
    min: 0,
    description: 'Replies (receipts) older than this are deleted, checked hourly. 0 = kept for ever.',
  }),
});
