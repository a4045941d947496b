-- CreateEnum
CREATE TYPE "account_status" AS ENUM ('active', 'stale', 'inactive');

-- CreateEnum
CREATE TYPE "transaction_status" AS ENUM ('allocated', 'signed', 'submitted', 'mined', 'confirmed', 'failed', 'replaced', 'rejected', 'abandoned');

-- CreateEnum
CREATE TYPE "nonce_source" AS ENUM ('counter', 'reused', 'fixed');

-- CreateTable
CREATE TABLE "accounts" (
    "address" VARCHAR(42) NOT NULL,
    "backend_id" VARCHAR(100) NOT NULL,
    "key_id" VARCHAR(500) NOT NULL,
    "label" TEXT,
    "status" "account_status" NOT NULL DEFAULT 'active',
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("address")
);

-- CreateTable
CREATE TABLE "nonces" (
    "chain_id" BIGINT NOT NULL,
    "address" VARCHAR(42) NOT NULL,
    "next_nonce" BIGINT NOT NULL,
    "chain_nonce" BIGINT NOT NULL,
    "chain_nonce_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_owner" TEXT,
    "lease_until" TIMESTAMPTZ(3),
    "lease_epoch" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "nonces_pkey" PRIMARY KEY ("chain_id","address")
);

-- CreateTable
CREATE TABLE "released_nonces" (
    "chain_id" BIGINT NOT NULL,
    "address" VARCHAR(42) NOT NULL,
    "nonce" BIGINT NOT NULL,
    "transaction_id" UUID,
    "released_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "released_nonces_pkey" PRIMARY KEY ("chain_id","address","nonce")
);

-- CreateTable
CREATE TABLE "transactions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "request_id" VARCHAR(200),
    "released_request_id" VARCHAR(200),
    "payload_hash" VARCHAR(66),
    "chain_id" BIGINT NOT NULL,
    "from_address" VARCHAR(42) NOT NULL,
    "nonce" BIGINT NOT NULL,
    "live_nonce" BIGINT,
    "nonce_source" "nonce_source" NOT NULL DEFAULT 'counter',
    "type" INTEGER,
    "fields" JSONB,
    "raw" TEXT,
    "hash" VARCHAR(66),
    "status" "transaction_status" NOT NULL DEFAULT 'allocated',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "lease_until" TIMESTAMPTZ(3),
    "block_number" BIGINT,
    "block_hash" VARCHAR(66),
    "receipt_status" INTEGER,
    "gas_used" BIGINT,
    "effective_gas_price" DECIMAL(78,0),
    "confirmations" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submitted_at" TIMESTAMPTZ(3),
    "mined_at" TIMESTAMPTZ(3),
    "confirmed_at" TIMESTAMPTZ(3),

    CONSTRAINT "transactions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "subject" VARCHAR(200) NOT NULL,
    "payload" JSONB NOT NULL,
    "transaction_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "accounts_status_idx" ON "accounts"("status");

-- CreateIndex
CREATE UNIQUE INDEX "transactions_request_id_key" ON "transactions"("request_id");

-- CreateIndex
CREATE INDEX "transactions_chain_id_from_address_nonce_idx" ON "transactions"("chain_id", "from_address", "nonce");

-- CreateIndex
CREATE INDEX "transactions_hash_idx" ON "transactions"("hash");

-- CreateIndex
CREATE INDEX "transactions_status_updated_at_idx" ON "transactions"("status", "updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "transactions_chain_id_from_address_live_nonce_key" ON "transactions"("chain_id", "from_address", "live_nonce");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_created_at_idx" ON "outbox_events"("published_at", "created_at");

-- Hand-written (Prisma's schema language has no CHECK constraints; Prisma Migrate leaves them be).
-- A transaction holds its nonce (live_nonce = nonce) exactly while it is not released or replaced,
-- so the unique index above forbids two live transactions at one nonce.
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_live_nonce_check"
    CHECK (("live_nonce" IS NULL AND "status" IN ('rejected', 'abandoned', 'replaced'))
        OR ("live_nonce" IS NOT NULL AND "live_nonce" = "nonce" AND "status" NOT IN ('rejected', 'abandoned', 'replaced')));
ALTER TABLE "nonces" ADD CONSTRAINT "nonces_non_negative_check" CHECK ("next_nonce" >= 0 AND "chain_nonce" >= 0);
