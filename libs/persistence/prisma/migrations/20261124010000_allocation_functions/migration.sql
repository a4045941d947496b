-- Nonce allocation as two PL/pgSQL functions, each called with ONE statement per batch
-- (`SELECT * FROM hsm_allocate_nonces(…)`: one round trip, one implicit transaction, no interactive
-- transaction; research/nonce-and-lifecycle.md §7.3). Why functions rather than one CTE:
--  * In READ COMMITTED every statement inside a function takes a fresh snapshot. After the counter
--    row is locked, the released-nonce read therefore sees every release committed before it, and
--    since every consumer of released nonces holds that same row lock, "lowest released nonce first"
--    is exact across replicas. A single CTE statement keeps the snapshot from before its lock wait
--    and could skip a just-freed nonce, leaving a transient gap on chain.
--  * PL/pgSQL caches the plans of its statements per connection; the equivalent CTE spent about as
--    long being planned (~0.6 ms) as being executed, on every call.

-- Allocates one nonce per slot (p_request_ids[i], p_payload_hashes[i]) for (chain, address): the
-- account's lowest released nonces first, then the counter. Slots whose request id is already in the
-- ledger return that transaction ('existing') and consume nothing. Returns 'no-account' when the
-- counter row does not exist yet (the caller seeds it from the node and calls again).
CREATE FUNCTION "hsm_allocate_nonces"(
    p_chain_id BIGINT,
    p_address TEXT,
    p_request_ids TEXT[],
    p_payload_hashes TEXT[],
    p_lease_ms BIGINT
) RETURNS TABLE (
    o_ord INTEGER,
    o_kind TEXT,
    o_id UUID,
    o_nonce BIGINT,
    o_hash TEXT,
    o_status TEXT,
    o_payload_hash TEXT,
    o_chain_id BIGINT,
    o_from_address TEXT
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ords INTEGER[];
    v_existing_ords INTEGER[];
    v_existing_ids UUID[];
    v_rids TEXT[];
    v_phs TEXT[];
    v_m INTEGER;
    v_next BIGINT;
    v_floor BIGINT;
    v_reused BIGINT[];
    v_r INTEGER;
BEGIN
    -- One snapshot splits the slots: request ids already in the ledger get their first transaction
    -- back and consume nothing; the rest are allocated. (A concurrent first use of the same id makes
    -- the INSERT below fail with a unique violation, which aborts the whole call, counter included;
    -- the caller retries and finds the id here.)
    SELECT coalesce(array_agg(r.ord::INTEGER ORDER BY r.ord) FILTER (WHERE t.id IS NULL), '{}'),
           coalesce(array_agg(r.rid ORDER BY r.ord) FILTER (WHERE t.id IS NULL), '{}'),
           coalesce(array_agg(r.ph ORDER BY r.ord) FILTER (WHERE t.id IS NULL), '{}'),
           coalesce(array_agg(r.ord::INTEGER ORDER BY r.ord) FILTER (WHERE t.id IS NOT NULL), '{}'),
           coalesce(array_agg(t.id ORDER BY r.ord) FILTER (WHERE t.id IS NOT NULL), '{}')
    INTO v_ords, v_rids, v_phs, v_existing_ords, v_existing_ids
    FROM unnest(p_request_ids, p_payload_hashes) WITH ORDINALITY AS r(rid, ph, ord)
    LEFT JOIN "transactions" t ON t.request_id = r.rid;

    -- Existing rows by primary key: a row found above keeps its id even if it is released meanwhile.
    RETURN QUERY
        SELECT e.ord, 'existing'::TEXT, t.id, t.nonce, t.hash::TEXT, t.status::TEXT, t.payload_hash::TEXT, t.chain_id, t.from_address::TEXT
        FROM unnest(v_existing_ords, v_existing_ids) AS e(ord, id)
        JOIN "transactions" t ON t.id = e.id;

    v_m := coalesce(array_length(v_ords, 1), 0);
    IF v_m = 0 THEN
        RETURN;
    END IF;

    -- The account's row lock serialises allocation (held to commit).
    SELECT c.next_nonce, c.chain_nonce INTO v_next, v_floor
    FROM "nonces" c WHERE c.chain_id = p_chain_id AND c.address = p_address
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 0, 'no-account'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;

    -- Lowest released nonces first (fresh snapshot, see above). Ones below the chain floor are
    -- consumed on chain already and stay untouched.
    WITH picked AS (
        DELETE FROM "released_nonces" r
        USING (
            SELECT x.nonce FROM "released_nonces" x
            WHERE x.chain_id = p_chain_id AND x.address = p_address AND x.nonce >= v_floor
            ORDER BY x.nonce
            LIMIT v_m
        ) p
        WHERE r.chain_id = p_chain_id AND r.address = p_address AND r.nonce = p.nonce
        RETURNING r.nonce
    )
    SELECT coalesce(array_agg(picked.nonce ORDER BY picked.nonce), '{}') INTO v_reused FROM picked;
    v_r := coalesce(array_length(v_reused, 1), 0);

    IF v_m > v_r THEN
        UPDATE "nonces" SET next_nonce = v_next + (v_m - v_r), updated_at = now()
        WHERE chain_id = p_chain_id AND address = p_address;
    END IF;

    RETURN QUERY
        WITH alloc AS (
            SELECT f.ord, f.rid, f.ph, f.n,
                   CASE WHEN f.n <= v_r THEN v_reused[f.n] ELSE v_next + (f.n - v_r - 1) END AS nonce
            FROM unnest(v_ords, v_rids, v_phs) WITH ORDINALITY AS f(ord, rid, ph, n)
        ),
        ins AS (
            INSERT INTO "transactions" (request_id, payload_hash, chain_id, from_address, nonce, live_nonce, nonce_source, status, lease_until)
            SELECT a.rid, a.ph, p_chain_id, p_address, a.nonce, a.nonce,
                   CASE WHEN a.n <= v_r THEN 'reused'::"nonce_source" ELSE 'counter'::"nonce_source" END,
                   'allocated'::"transaction_status",
                   now() + p_lease_ms * INTERVAL '1 millisecond'
            FROM alloc a
            RETURNING "transactions".id, "transactions".nonce
        )
        SELECT a.ord, 'allocated'::TEXT, i.id, i.nonce, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT
        FROM ins i JOIN alloc a ON a.nonce = i.nonce;
END;
$$;

-- Records a transaction at a nonce the client fixed. The counter moves past it, and the nonces it
-- skips become released nonces (taken first by later allocations), so a fixed nonce leaves no gap.
-- Returns one row: 'allocated', 'existing' (request id already used), 'nonce-in-use' (a live
-- transaction holds it; o_id names that one), 'too-far-ahead' (o_nonce = the counter) or
-- 'no-account'.
CREATE FUNCTION "hsm_allocate_fixed_nonce"(
    p_chain_id BIGINT,
    p_address TEXT,
    p_nonce BIGINT,
    p_request_id TEXT,
    p_payload_hash TEXT,
    p_lease_ms BIGINT,
    p_max_gap BIGINT
) RETURNS TABLE (
    o_ord INTEGER,
    o_kind TEXT,
    o_id UUID,
    o_nonce BIGINT,
    o_hash TEXT,
    o_status TEXT,
    o_payload_hash TEXT,
    o_chain_id BIGINT,
    o_from_address TEXT
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_next BIGINT;
    v_holder UUID;
    v_id UUID;
BEGIN
    IF p_request_id IS NOT NULL THEN
        RETURN QUERY
            SELECT 1, 'existing'::TEXT, t.id, t.nonce, t.hash::TEXT, t.status::TEXT, t.payload_hash::TEXT, t.chain_id, t.from_address::TEXT
            FROM "transactions" t WHERE t.request_id = p_request_id;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

    SELECT c.next_nonce INTO v_next
    FROM "nonces" c WHERE c.chain_id = p_chain_id AND c.address = p_address
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 1, 'no-account'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;

    SELECT t.id INTO v_holder FROM "transactions" t
    WHERE t.chain_id = p_chain_id AND t.from_address = p_address AND t.live_nonce = p_nonce;
    IF FOUND THEN
        RETURN QUERY SELECT 1, 'nonce-in-use'::TEXT, v_holder, p_nonce, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;
    IF p_nonce - v_next > p_max_gap THEN
        RETURN QUERY SELECT 1, 'too-far-ahead'::TEXT, NULL::UUID, v_next, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;

    IF p_nonce >= v_next THEN
        INSERT INTO "released_nonces" (chain_id, address, nonce)
        SELECT p_chain_id, p_address, g FROM generate_series(v_next, p_nonce - 1) g
        ON CONFLICT DO NOTHING;
        UPDATE "nonces" SET next_nonce = p_nonce + 1, updated_at = now()
        WHERE chain_id = p_chain_id AND address = p_address;
    ELSE
        DELETE FROM "released_nonces" r WHERE r.chain_id = p_chain_id AND r.address = p_address AND r.nonce = p_nonce;
    END IF;

    INSERT INTO "transactions" (request_id, payload_hash, chain_id, from_address, nonce, live_nonce, nonce_source, status, lease_until)
    VALUES (p_request_id, p_payload_hash, p_chain_id, p_address, p_nonce, p_nonce, 'fixed', 'allocated', now() + p_lease_ms * INTERVAL '1 millisecond')
    RETURNING id INTO v_id;
    RETURN QUERY SELECT 1, 'allocated'::TEXT, v_id, p_nonce, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
END;
$$;
