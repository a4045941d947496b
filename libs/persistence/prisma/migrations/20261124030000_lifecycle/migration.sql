-- Transaction lifecycle (issue 3): replacements keep their predecessors' hashes, gap fills are marked,
-- re-sends are counted, and every state change writes an outbox row in the same transaction.

-- AlterTable
ALTER TABLE "transactions" ADD COLUMN "kind" VARCHAR(20) NOT NULL DEFAULT 'user',
ADD COLUMN "sent_at" TIMESTAMPTZ(3),
ADD COLUMN "resends" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "transaction_attempts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "transaction_id" UUID NOT NULL,
    "hash" VARCHAR(66) NOT NULL,
    "raw" TEXT NOT NULL,
    "fields" JSONB,
    "replaced_by" VARCHAR(66),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "transaction_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "transaction_attempts_hash_key" ON "transaction_attempts"("hash");

-- CreateIndex
CREATE INDEX "transaction_attempts_transaction_id_idx" ON "transaction_attempts"("transaction_id");

-- CreateIndex
CREATE INDEX "transactions_chain_id_from_address_status_idx" ON "transactions"("chain_id", "from_address", "status");

-- Hand-written: the transactional outbox (research/nonce-and-lifecycle.md §8.2). A row trigger
-- writes one event per status change (and per replacement: a new hash at the same status) in the
-- statement's own transaction, so no code path can change a state without its event, and the hot
-- path pays no extra round trip. nonce-service's relay publishes them to JetStream with
-- Nats-Msg-Id = outbox id. Subject: hsm.v1.tx.<chainId>.<status>.
CREATE FUNCTION "hsm_transactions_outbox"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.hash IS NOT DISTINCT FROM OLD.hash
       AND NEW.block_hash IS NOT DISTINCT FROM OLD.block_hash THEN
        RETURN NEW;
    END IF;
    INSERT INTO "outbox_events" (subject, payload, transaction_id)
    VALUES (
        'hsm.v1.tx.' || NEW.chain_id || '.' || NEW.status,
        jsonb_build_object(
            'transactionId', NEW.id,
            'chainId', NEW.chain_id,
            'from', NEW.from_address,
            'nonce', NEW.nonce,
            'status', NEW.status,
            'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status::text END,
            'hash', NEW.hash,
            'previousHash', CASE WHEN TG_OP = 'UPDATE' AND NEW.hash IS DISTINCT FROM OLD.hash THEN OLD.hash END,
            'kind', NEW.kind,
            'requestId', coalesce(NEW.request_id, NEW.released_request_id),
            'blockNumber', NEW.block_number,
            'blockHash', NEW.block_hash,
            'receiptStatus', NEW.receipt_status,
            'error', NEW.error,
            'at', now()
        ),
        NEW.id
    );
    RETURN NEW;
END;
$$;

CREATE TRIGGER "transactions_outbox" AFTER INSERT OR UPDATE ON "transactions"
    FOR EACH ROW EXECUTE FUNCTION "hsm_transactions_outbox"();

-- Raises the account to the chain's mined count M (a floor, never lowered below it: research §7.1 #5),
-- drops released nonces below M, and rewinds the counter over released nonces at the very top (no
-- live transaction above them), so a top hole is neither filled nor reused out of order. Lock order
-- as in allocation: the counter row first. Returns the counter afterwards.
CREATE FUNCTION "hsm_sync_floor"(p_chain_id BIGINT, p_address TEXT, p_mined BIGINT)
RETURNS TABLE (o_next_nonce BIGINT, o_raised BOOLEAN) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_next BIGINT;
    v_old BIGINT;
BEGIN
    SELECT c.next_nonce INTO v_old FROM "nonces" c WHERE c.chain_id = p_chain_id AND c.address = p_address FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_next := GREATEST(v_old, p_mined);
    DELETE FROM "released_nonces" WHERE chain_id = p_chain_id AND address = p_address AND nonce < p_mined;
    -- CAS rewind over the released top (research §7.3 "Rewind"): only never-broadcast nonces are released.
    LOOP
        EXIT WHEN v_next <= p_mined;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM "released_nonces" r WHERE r.chain_id = p_chain_id AND r.address = p_address AND r.nonce = v_next - 1);
        EXIT WHEN EXISTS (SELECT 1 FROM "transactions" t WHERE t.chain_id = p_chain_id AND t.from_address = p_address AND t.live_nonce >= v_next - 1);
        DELETE FROM "released_nonces" WHERE chain_id = p_chain_id AND address = p_address AND nonce = v_next - 1;
        v_next := v_next - 1;
    END LOOP;
    UPDATE "nonces" SET next_nonce = v_next, chain_nonce = GREATEST(chain_nonce, p_mined), chain_nonce_at = now(), updated_at = now()
    WHERE chain_id = p_chain_id AND address = p_address;
    RETURN QUERY SELECT v_next, p_mined > v_old;
END;
$$;

-- Claims a released nonce that nobody reused within p_min_age_ms for a gap-filling transaction
-- (zero-value self-transfer, research §6.2 "nonce gap"), under the counter's row lock like any other
-- allocation. Only when a live transaction waits above it (otherwise the hole is left for reuse or
-- rewound by hsm_sync_floor). Returns the new ledger row id, or nothing.
CREATE FUNCTION "hsm_claim_gap"(p_chain_id BIGINT, p_address TEXT, p_nonce BIGINT, p_min_age_ms BIGINT, p_lease_ms BIGINT)
RETURNS TABLE (o_id UUID) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_id UUID;
BEGIN
    PERFORM 1 FROM "nonces" c WHERE c.chain_id = p_chain_id AND c.address = p_address FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM "transactions" t WHERE t.chain_id = p_chain_id AND t.from_address = p_address AND t.live_nonce > p_nonce) THEN
        RETURN;
    END IF;
    DELETE FROM "released_nonces" r
    WHERE r.chain_id = p_chain_id AND r.address = p_address AND r.nonce = p_nonce
      AND r.released_at <= now() - p_min_age_ms * INTERVAL '1 millisecond';
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO "transactions" (chain_id, from_address, nonce, live_nonce, nonce_source, status, kind, lease_until)
    VALUES (p_chain_id, p_address, p_nonce, p_nonce, 'reused', 'allocated', 'gap-fill', now() + p_lease_ms * INTERVAL '1 millisecond')
    RETURNING id INTO v_id;
    RETURN QUERY SELECT v_id;
END;
$$;
