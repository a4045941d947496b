-- 1. hsm_allocate_nonces (20261124010000_allocation_functions), same arguments, same results, cheaper
--    per call. Measured on the backend (perf, bench/ledger-sql.ts): a one-nonce call cost ~0.7–1.3 ms
--    of CPU, about a quarter of it in the planner. PL/pgSQL passes its variables to each statement as
--    parameters, and the plan cache keeps planning a statement anew on every execution while that
--    custom plan's estimate stays below the generic plan's; for the statements over
--    unnest(p_request_ids, …) the custom plan knows the real array length (1) where the generic one
--    assumes 10 rows, so the request-id split, the "existing" read and the INSERT … RETURNING were
--    planned on every call. Now:
--    * a call without request ids (the hot path) skips the request-id split and the "existing" read
--      altogether: there is nothing to look up;
--    * the "existing" read runs only when an id was found;
--    * the ledger rows' ids are drawn in the statement that numbers the slots, so the result needs no
--      join back to the inserted rows, and that statement's generic plan is as cheap as its custom
--      one: the plan cache keeps it after a few calls.
--    The plan cache mode is left alone (forcing generic plans was measured and rejected: a generic
--    plan made while a table is small — a hash join over a scan of it — stays until an ANALYZE
--    invalidates it, and the request-id lookup then scanned the growing ledger on every call).
--    Everything else is as before, including why these are functions (the header of
--    20261124010000_allocation_functions): the counter row is locked first and every later statement
--    reads with a fresh snapshot.
CREATE OR REPLACE FUNCTION "hsm_allocate_nonces"(
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
    -- true: every slot is to be allocated (no request id in the call); else v_ords lists them.
    v_all BOOLEAN := true;
    v_ords INTEGER[] := '{}';
    v_existing_ords INTEGER[];
    v_existing_ids UUID[];
    v_m INTEGER := coalesce(array_length(p_request_ids, 1), 0);
    v_next BIGINT;
    v_floor BIGINT;
    v_reused BIGINT[];
    v_r INTEGER;
BEGIN
    -- One snapshot splits the slots: request ids already in the ledger get their first transaction
    -- back and consume nothing; the rest are allocated. (A concurrent first use of the same id makes
    -- the INSERT below fail with a unique violation, which aborts the whole call, counter included;
    -- the caller retries and finds the id here.)
    IF array_remove(p_request_ids, NULL) <> '{}' THEN
        v_all := false;
        SELECT coalesce(array_agg(r.ord::INTEGER) FILTER (WHERE t.id IS NULL), '{}'),
               coalesce(array_agg(r.ord::INTEGER) FILTER (WHERE t.id IS NOT NULL), '{}'),
               coalesce(array_agg(t.id) FILTER (WHERE t.id IS NOT NULL), '{}')
        INTO v_ords, v_existing_ords, v_existing_ids
        FROM unnest(p_request_ids) WITH ORDINALITY AS r(rid, ord)
        LEFT JOIN "transactions" t ON t.request_id = r.rid;
        IF v_existing_ids <> '{}' THEN
            -- By primary key: a row found above keeps its id even if it is released meanwhile.
            RETURN QUERY
                SELECT e.ord, 'existing'::TEXT, t.id, t.nonce, t.hash::TEXT, t.status::TEXT, t.payload_hash::TEXT, t.chain_id, t.from_address::TEXT
                FROM unnest(v_existing_ords, v_existing_ids) AS e(ord, id)
                JOIN "transactions" t ON t.id = e.id;
        END IF;
        v_m := coalesce(array_length(v_ords, 1), 0);
    END IF;
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

    -- The n-th slot to allocate (input order) gets the n-th released nonce, or the counter onwards.
    RETURN QUERY
        WITH alloc AS MATERIALIZED (
            SELECT gen_random_uuid() AS id, f.ord::INTEGER AS ord, f.rid, f.ph, f.n <= v_r AS reused,
                   CASE WHEN f.n <= v_r THEN v_reused[f.n] ELSE v_next + (f.n - v_r - 1) END AS nonce
            FROM (
                SELECT u.ord, u.rid, u.ph, row_number() OVER (ORDER BY u.ord) AS n
                FROM unnest(p_request_ids, p_payload_hashes) WITH ORDINALITY AS u(rid, ph, ord)
                WHERE v_all OR u.ord = ANY (v_ords)
            ) f
        ),
        ins AS (
            INSERT INTO "transactions" (id, request_id, payload_hash, chain_id, from_address, nonce, live_nonce, nonce_source, status, lease_until)
            SELECT a.id, a.rid, a.ph, p_chain_id, p_address, a.nonce, a.nonce,
                   CASE WHEN a.reused THEN 'reused'::"nonce_source" ELSE 'counter'::"nonce_source" END,
                   'allocated'::"transaction_status",
                   now() + p_lease_ms * INTERVAL '1 millisecond'
            FROM alloc a
        )
        SELECT a.ord, 'allocated'::TEXT, a.id, a.nonce, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT
        FROM alloc a;
END;
$$;

-- 2. hsm_allocate_nonces_many: hsm_allocate_nonces for slots of MANY accounts in one call, so a
--    replica can send everything it has queued (any accounts) in one statement: one round trip, one
--    commit, one run of each statement and of the outbox trigger for the whole batch, where one call
--    per account paid all of that per account (with 100 accounts nearly every call carried a
--    single nonce).
--
--    Slot i is (p_chain_ids[i], p_addresses[i], p_request_ids[i], p_payload_hashes[i]); one row
--    comes back per slot with o_ord = i:
--    * 'existing': the request id is already in the ledger; its first transaction, nothing consumed
--      (found with one snapshot before any lock, as in hsm_allocate_nonces);
--    * 'allocated': a nonce of the slot's account. Per account, its slots in input order get the
--      account's lowest released nonces (at or above the chain floor) first, then the counter's,
--      exactly as one hsm_allocate_nonces call for that account's slots would;
--    * 'no-account': the account has no counter row yet (the caller seeds it from the node and asks
--      again for those slots only). The other accounts' slots are allocated regardless.
--    A unique violation (a concurrent first use of a request id, or an inconsistent ledger) aborts
--    the whole call, every account included: the caller then falls back to one hsm_allocate_nonces
--    call per account.
--
--    The same guarantees as hsm_allocate_nonces, kept the same way:
--    * Lock order: the counter rows of all the call's accounts are locked in ONE statement, sorted by
--      (chain_id, address COLLATE "C") under FOR UPDATE (LockRows sits above the Sort, so rows are
--      locked one by one in that order). Two calls over overlapping accounts therefore wait for one
--      another instead of deadlocking, and the tracker's multi-account hsm_sync_floor statement
--      (LifecycleLedger.syncFloors: one chain, addresses sorted the same way) uses the same order.
--    * Fresh snapshot after the lock: this is a VOLATILE PL/pgSQL function, so in READ COMMITTED
--      every statement below the locking one starts with a new snapshot. The released-nonce pick
--      runs after every counter row is held, so it sees every release committed before the locks
--      were granted, and since every consumer of released nonces holds the account's row lock,
--      "lowest released nonce first" is exact across replicas.
--    * The counter moves past the nonces handed out, in the same transaction as the ledger rows; the
--      unique index on (chain_id, from_address, live_nonce) stays the last line of defence.
--
--    Three statements and one run of the outbox trigger whatever the batch (plus the request-id
--    lookup when the call has request ids, and one statement for unknown accounts when there are
--    any), where hsm_allocate_nonces runs four and the trigger per account.
CREATE FUNCTION "hsm_allocate_nonces_many"(
    p_chain_ids BIGINT[],
    p_addresses TEXT[],
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
    v_slots INTEGER := coalesce(array_length(p_chain_ids, 1), 0);
    -- true: every slot is to be allocated (no request id in the call); else v_ords lists them.
    v_all BOOLEAN := true;
    v_ords INTEGER[] := '{}';
    v_new INTEGER;
    v_existing_ords INTEGER[];
    v_existing_ids UUID[];
    -- The locked accounts, in lock order, with their counter, chain floor and number of new slots.
    v_chains BIGINT[];
    v_addrs TEXT[];
    v_next BIGINT[];
    v_floor BIGINT[];
    v_m BIGINT[];
    -- Released nonces taken, sorted by (account index, nonce); per account: how many, and where its run starts.
    v_taken_acct INTEGER[];
    v_taken_nonce BIGINT[];
    v_r BIGINT[];
    v_first INTEGER[];
    v_i INTEGER;
    v_done BIGINT := 0;
BEGIN
    IF coalesce(array_length(p_addresses, 1), 0) <> v_slots
       OR coalesce(array_length(p_request_ids, 1), 0) <> v_slots
       OR coalesce(array_length(p_payload_hashes, 1), 0) <> v_slots THEN
        RAISE EXCEPTION 'hsm_allocate_nonces_many: chain ids, addresses, request ids and payload hashes must have one entry per slot';
    END IF;
    IF v_slots = 0 THEN
        RETURN;
    END IF;
    v_new := v_slots;

    -- Request ids already in the ledger get their first transaction back and consume nothing. (Skipped
    -- when the call has none: a plain allocation has nothing to look up.)
    IF array_remove(p_request_ids, NULL) <> '{}' THEN
        v_all := false;
        SELECT coalesce(array_agg(r.ord::INTEGER) FILTER (WHERE t.id IS NULL), '{}'),
               coalesce(array_agg(r.ord::INTEGER) FILTER (WHERE t.id IS NOT NULL), '{}'),
               coalesce(array_agg(t.id) FILTER (WHERE t.id IS NOT NULL), '{}')
        INTO v_ords, v_existing_ords, v_existing_ids
        FROM unnest(p_request_ids) WITH ORDINALITY AS r(rid, ord)
        LEFT JOIN "transactions" t ON t.request_id = r.rid;

        IF v_existing_ids <> '{}' THEN
            -- By primary key: a row found above keeps its id even if it is released meanwhile.
            RETURN QUERY
                SELECT e.ord, 'existing'::TEXT, t.id, t.nonce, t.hash::TEXT, t.status::TEXT, t.payload_hash::TEXT, t.chain_id, t.from_address::TEXT
                FROM unnest(v_existing_ords, v_existing_ids) AS e(ord, id)
                JOIN "transactions" t ON t.id = e.id;
        END IF;
        v_new := coalesce(array_length(v_ords, 1), 0);
        IF v_new = 0 THEN
            RETURN;
        END IF;
    END IF;

    -- The accounts' row locks, all in one statement, in (chain_id, address) order (held to commit).
    SELECT coalesce(array_agg(l.chain_id), '{}'), coalesce(array_agg(l.address), '{}'), coalesce(array_agg(l.next_nonce), '{}'),
           coalesce(array_agg(l.chain_nonce), '{}'), coalesce(array_agg(l.m), '{}')
    INTO v_chains, v_addrs, v_next, v_floor, v_m
    FROM (
        SELECT c.chain_id, c.address::TEXT AS address, c.next_nonce, c.chain_nonce, k.m
        FROM (
            SELECT s.chain_id, s.address, count(*) AS m
            FROM unnest(p_chain_ids, p_addresses) WITH ORDINALITY AS s(chain_id, address, ord)
            WHERE v_all OR s.ord = ANY (v_ords)
            GROUP BY s.chain_id, s.address
        ) k
        JOIN "nonces" c ON c.chain_id = k.chain_id AND c.address = k.address
        ORDER BY c.chain_id, c.address COLLATE "C"
        FOR UPDATE OF c
    ) l;

    IF v_chains <> '{}' THEN
        -- Each account's lowest released nonces, as many as it has new slots (fresh snapshot, see
        -- above). Ones below the chain floor are consumed on chain already and stay untouched.
        WITH taken AS (
            DELETE FROM "released_nonces" r
            USING (
                SELECT a.i, a.chain_id, a.address, x.nonce
                FROM unnest(v_chains, v_addrs, v_floor, v_m) WITH ORDINALITY AS a(chain_id, address, floor, m, i)
                CROSS JOIN LATERAL (
                    SELECT x.nonce FROM "released_nonces" x
                    WHERE x.chain_id = a.chain_id AND x.address = a.address AND x.nonce >= a.floor
                    ORDER BY x.nonce
                    LIMIT a.m
                ) x
            ) p
            WHERE r.chain_id = p.chain_id AND r.address = p.address AND r.nonce = p.nonce
            RETURNING p.i, r.nonce
        )
        SELECT coalesce(array_agg(taken.i::INTEGER ORDER BY taken.i, taken.nonce), '{}'),
               coalesce(array_agg(taken.nonce ORDER BY taken.i, taken.nonce), '{}')
        INTO v_taken_acct, v_taken_nonce
        FROM taken;

        v_r := array_fill(0::BIGINT, ARRAY[array_length(v_chains, 1)]);
        v_first := array_fill(1, ARRAY[array_length(v_chains, 1)]);
        FOR v_j IN 1 .. coalesce(array_length(v_taken_acct, 1), 0) LOOP
            v_i := v_taken_acct[v_j];
            IF v_r[v_i] = 0 THEN
                v_first[v_i] := v_j;
            END IF;
            v_r[v_i] := v_r[v_i] + 1;
        END LOOP;

        -- The n-th new slot of an account (input order) gets its n-th released nonce, or the counter
        -- onwards once those run out; the counter moves past what it gave. The ids are drawn here so
        -- the result needs no join back to the inserted rows.
        RETURN QUERY
            WITH bump AS (
                UPDATE "nonces" c SET next_nonce = a.next_nonce + (a.m - a.r), updated_at = now()
                FROM unnest(v_chains, v_addrs, v_next, v_m, v_r) AS a(chain_id, address, next_nonce, m, r)
                WHERE c.chain_id = a.chain_id AND c.address = a.address AND a.m > a.r
            ),
            alloc AS MATERIALIZED (
                SELECT gen_random_uuid() AS id, s.ord::INTEGER AS ord, s.rid, s.ph, s.chain_id, s.address,
                       s.n <= a.r AS reused,
                       CASE WHEN s.n <= a.r THEN v_taken_nonce[a.first + s.n - 1] ELSE a.next_nonce + (s.n - a.r - 1) END AS nonce
                FROM (
                    SELECT u.ord, u.rid, u.ph, u.chain_id, u.address,
                           row_number() OVER (PARTITION BY u.chain_id, u.address ORDER BY u.ord) AS n
                    FROM unnest(p_chain_ids, p_addresses, p_request_ids, p_payload_hashes) WITH ORDINALITY AS u(chain_id, address, rid, ph, ord)
                    WHERE v_all OR u.ord = ANY (v_ords)
                ) s
                JOIN unnest(v_chains, v_addrs, v_next, v_r, v_first) AS a(chain_id, address, next_nonce, r, first)
                  ON a.chain_id = s.chain_id AND a.address = s.address
            ),
            ins AS (
                INSERT INTO "transactions" (id, request_id, payload_hash, chain_id, from_address, nonce, live_nonce, nonce_source, status, lease_until)
                SELECT a.id, a.rid, a.ph, a.chain_id, a.address, a.nonce, a.nonce,
                       CASE WHEN a.reused THEN 'reused'::"nonce_source" ELSE 'counter'::"nonce_source" END,
                       'allocated'::"transaction_status",
                       now() + p_lease_ms * INTERVAL '1 millisecond'
                FROM alloc a
            )
            SELECT a.ord, 'allocated'::TEXT, a.id, a.nonce, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT
            FROM alloc a;
        GET DIAGNOSTICS v_done = ROW_COUNT;
    END IF;

    -- Slots of accounts without a counter row.
    IF v_done < v_new THEN
        RETURN QUERY
            SELECT u.ord::INTEGER, 'no-account'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TEXT
            FROM unnest(p_chain_ids, p_addresses) WITH ORDINALITY AS u(chain_id, address, ord)
            WHERE (v_all OR u.ord = ANY (v_ords))
              AND NOT EXISTS (SELECT 1 FROM unnest(v_chains, v_addrs) AS a(chain_id, address) WHERE a.chain_id = u.chain_id AND a.address = u.address);
    END IF;
END;
$$;
