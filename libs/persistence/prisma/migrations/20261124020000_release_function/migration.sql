-- Gives a transaction's nonce back after the node rejected it (or nothing was sent), in one call.
-- When the caller read the node's transaction count for the sender (p_chain_count, mined), that
-- count is a floor (research/nonce-and-lifecycle.md §7.1 #5): the counter and chain_nonce are raised
-- to it, released nonces below it are dropped, and this nonce is released only if it is not below
-- it. Without this, a nonce consumed outside the system ("nonce too low") would be handed out again
-- and again. Lock order as in allocation: the counter row before any released_nonces row.
-- Returns the transaction's (chain_id, from_address, nonce) and whether it went back for reuse; no
-- row when the transaction is not in 'allocated' or 'signed'.
CREATE FUNCTION "hsm_release_nonce"(
    p_id UUID,
    p_status "transaction_status",
    p_error TEXT,
    p_chain_count BIGINT
) RETURNS TABLE (
    o_chain_id BIGINT,
    o_from_address TEXT,
    o_nonce BIGINT,
    o_reusable BOOLEAN
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_chain BIGINT;
    v_from TEXT;
    v_nonce BIGINT;
    v_reusable BOOLEAN;
BEGIN
    UPDATE "transactions" SET
        status = p_status,
        error = p_error,
        live_nonce = NULL,
        released_request_id = request_id,
        request_id = NULL,
        lease_until = NULL,
        updated_at = now()
    WHERE id = p_id AND status IN ('allocated', 'signed')
    RETURNING chain_id, from_address, nonce INTO v_chain, v_from, v_nonce;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF p_chain_count IS NOT NULL THEN
        UPDATE "nonces" SET
            chain_nonce = GREATEST(chain_nonce, p_chain_count),
            next_nonce = GREATEST(next_nonce, p_chain_count),
            chain_nonce_at = now(),
            updated_at = now()
        WHERE chain_id = v_chain AND address = v_from;
        DELETE FROM "released_nonces" WHERE chain_id = v_chain AND address = v_from AND nonce < p_chain_count;
    END IF;

    v_reusable := p_chain_count IS NULL OR v_nonce >= p_chain_count;
    IF v_reusable THEN
        INSERT INTO "released_nonces" (chain_id, address, nonce, transaction_id)
        VALUES (v_chain, v_from, v_nonce, p_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN QUERY SELECT v_chain, v_from, v_nonce, v_reusable;
END;
$$;
