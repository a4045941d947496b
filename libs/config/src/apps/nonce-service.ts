import { commonSettings, metricsSetting, databaseSetting, nodeSettings } from '../common';
import { bool, defineConfig, int, num, optionalStr, str } from '../setting';

export const nonceServiceConfig = defineConfig('nonce-service', {
  ...commonSettings,
  ...metricsSetting,
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
    description: 'Most queued requests (all accounts together) that one replica allocates in a single statement.',
  }),
  maxFixedNonceGap: int({
    env: 'NONCE_MAX_FIXED_GAP',
    default: 1_000,
    min: 0,
    description: 'How far above the next nonce a client-fixed nonce may lie (the nonces it skips are reused first).',
  }),
  dbPoolSize: int({ env: 'NONCE_DB_POOL_SIZE', default: 10, min: 1, max: 1_000, description: 'Postgres connections per nonce-service replica.' }),
  trackerEnabled: bool({
    env: 'NONCE_TRACKER_ENABLED',
    default: true,
    description: 'Run the transaction tracker (receipts, confirmations, re-sends, fee bumps, hole reuse and gap fill) and the outbox relay to JetStream in this replica. Replicas split accounts between them by lease.',
  }),
  trackIntervalMs: int({
    env: 'NONCE_TRACK_INTERVAL_MS',
    default: 1_000,
    min: 50,
    description: 'How often the tracker looks at the accounts with open work (one Postgres statement and at most two node batches per round for all of them; nothing else when no transaction is open).',
  }),
  trackerLeaseMs: int({
    env: 'NONCE_TRACKER_LEASE_MS',
    default: 15_000,
    min: 1_000,
    description: 'How long a replica holds an account for tracking before another replica may take it over (renewed every round).',
  }),
  trackerMaxAccounts: int({ env: 'NONCE_TRACKER_MAX_ACCOUNTS', default: 500, min: 1, description: 'Most accounts one replica tracks per round.' }),
  confirmations: int({ env: 'NONCE_CONFIRMATIONS', default: 12, min: 1, description: 'Blocks (including the one holding it) before a mined transaction counts as confirmed.' }),
  stuckAfterMs: int({
    env: 'NONCE_STUCK_AFTER_MS',
    default: 60_000,
    min: 100,
    description: 'A submitted transaction not mined for this long is re-sent as is; still not mined after as long again, it is replaced with bumped fees.',
  }),
  unpooledAfterMs: int({
    env: 'NONCE_UNPOOLED_AFTER_MS',
    default: 5_000,
    min: 100,
    description:
      "A submitted transaction at the chain's next nonce that the node does not hold as executable (its pending count stays at the mined count) is re-sent after this long; when the node answers that it already knows it but still does not hold it, it is replaced with bumped fees at once.",
  }),
  feeBumpPercent: int({
    env: 'NONCE_FEE_BUMP_PERCENT',
    default: 10,
    min: 1,
    max: 1_000,
    description: "Fee increase of a replacement, on both the fee cap and the tip (geth and Besu refuse replacements below 10%).",
  }),
  maxFeePerGasWei: optionalStr({
    env: 'NONCE_MAX_FEE_PER_GAS_WEI',
    description: 'Highest fee per gas (wei, decimal) a replacement may offer; unset: the original fee times NONCE_MAX_FEE_MULTIPLIER.',
  }),
  maxFeeMultiplier: num({ env: 'NONCE_MAX_FEE_MULTIPLIER', default: 10, min: 1, description: 'Without NONCE_MAX_FEE_PER_GAS_WEI, replacements stop at the original fee times this.' }),
  gapFillAfterMs: int({
    env: 'NONCE_GAP_FILL_AFTER_MS',
    default: 30_000,
    min: 0,
    description: 'A released nonce that no request reused for this long, with later nonces waiting behind it, is filled with a zero-value self-transfer.',
  }),
  floorSyncMs: int({
    env: 'NONCE_FLOOR_SYNC_MS',
    default: 60_000,
    min: 1_000,
    description:
      "How often an account's counter is checked against the chain's mined count (a floor) when nothing calls for it sooner (the chain ahead of the counter, released nonces); idle accounts are looked for about four times per period.",
  }),
  eventsStream: str({ env: 'NONCE_EVENTS_STREAM', default: 'HSM_TX', description: 'JetStream stream (created if absent, subjects hsm.v1.tx.>) that receives every transaction state change.' }),
  outboxIntervalMs: int({ env: 'NONCE_OUTBOX_INTERVAL_MS', default: 250, min: 10, description: 'How often unpublished outbox events are relayed to JetStream.' }),
  ledgerRetentionDays: int({
    env: 'NONCE_LEDGER_RETENTION_DAYS',
    default: 0,
    min: 0,
    description:
      'Ledger rows in a final state (confirmed, failed, replaced, rejected, abandoned) older than this many days are deleted, checked hourly; 0 keeps them all. A request id (X-Request-Id, kld-id) is remembered only as long as its row: a repeat after that sends a new transaction.',
  }),
  outboxRetentionMs: int({
    env: 'NONCE_OUTBOX_RETENTION_MS',
    default: 0,
    min: 0,
    description: 'How long published outbox events stay in Postgres (for inspection) before they are deleted; 0 deletes each one as soon as JetStream stored it.',
  }),
});
