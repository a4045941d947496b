import { commonSettings, databaseSetting, nodeSettings } from '../common';
import { defineConfig, int, str } from '../setting';

export const nonceServiceConfig = defineConfig('nonce-service', {
  ...commonSettings,
  ...databaseSetting,
  ...nodeSettings,
  host: str({ env: 'NONCE_HTTP_HOST', default: '0.0.0.0', description: 'Interface of the health and operator HTTP endpoint.' }),
  port: int({ env: 'NONCE_HTTP_PORT', default: 8081, min: 0, max: 65535, description: 'Port of the health and operator HTTP endpoint.' }),
  leaseMs: int({
    env: 'NONCE_LEASE_MS',
    default: 30_000,
    min: 1_000,
    description: 'How long an allocated nonce belongs to the gateway that asked for it before it counts as a hole to reuse or fill.',
  }),
  maxBatch: int({
    env: 'NONCE_MAX_BATCH',
    default: 256,
    min: 1,
    max: 10_000,
    description: 'Most concurrent requests for one account that one replica allocates in a single statement.',
  }),
  maxFixedNonceGap: int({
    env: 'NONCE_MAX_FIXED_GAP',
    default: 1_000,
    min: 0,
    description: 'How far above the next nonce a client-fixed nonce may lie (the nonces it skips are reused first).',
  }),
  dbPoolSize: int({ env: 'NONCE_DB_POOL_SIZE', default: 10, min: 1, max: 1_000, description: 'Postgres connections per nonce-service replica.' }),
});
