-- A late `submitted` for a transaction whose nonce lease the tracker reaped (the gateway broadcast,
-- then could not record it in time: NATS or Postgres down, a stall): the transaction is on its way to
-- the chain, so the ledger takes it back, provided no other live transaction holds the nonce. Under
-- the counter's row lock, like any allocation: the nonce leaves released_nonces and the counter is
-- kept above it. Only rows the reaper released qualify (p_reaped_error is its exact error text).
CREATE FUNCTION "hsm_revive_submitted"(p_id UUID, p_hash TEXT, p_raw TEXT, p_type INTEGER, p_fields JSONB, p_reaped_error TEXT)
RETURNS TABLE (o_chain_id BIGINT, o_from_address TEXT, o_nonce BIGINT) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_chain BIGINT;
    v_from TEXT;
    v_nonce BIGINT;
BEGIN
    SELECT t.chain_id, t.from_address, t.nonce INTO v_chain, v_from, v_nonce
    FROM "transactions" t WHERE t.id = p_id AND t.status = 'abandoned' AND t.error = p_reaped_error;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM 1 FROM "nonces" c WHERE c.chain_id = v_chain AND c.address = v_from FOR UPDATE;
    IF EXISTS (SELECT 1 FROM "transactions" x WHERE x.chain_id = v_chain AND x.from_address = v_from AND x.live_nonce = v_nonce) THEN
        RETURN;
    END IF;
    DELETE FROM "released_nonces" WHERE chain_id = v_chain AND address = v_from AND nonce = v_nonce;
    UPDATE "nonces" SET next_nonce = GREATEST(next_nonce, v_nonce + 1), updated_at = now() WHERE chain_id = v_chain AND address = v_from;
    UPDATE "transactions" t SET
        status = 'submitted', live_nonce = t.nonce, hash = p_hash, raw = COALESCE(p_raw, t.raw), type = COALESCE(p_type, t.type),
        fields = COALESCE(p_fields, t.fields), error = NULL, lease_until = NULL, submitted_at = COALESCE(t.submitted_at, now()),
        sent_at = now(), attempts = GREATEST(t.attempts, 1),
        request_id = CASE WHEN t.released_request_id IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM "transactions" r WHERE r.request_id = t.released_request_id)
                          THEN t.released_request_id ELSE t.request_id END,
        updated_at = now()
    WHERE t.id = p_id;
    RETURN QUERY SELECT v_chain, v_from, v_nonce;
END;
$$;
