-- Indexes that hold only the rows the hot statements look for, so their cost follows the open work
-- and not the ledger's history, whatever plan the statistics lead to.
--
-- Measured (dev stack, one hot account, 2,000–3,000 sends at concurrency 64, pg_stat_user_indexes
-- and EXPLAIN ANALYZE): through "transactions_chain_id_from_address_status_idx" Postgres read ~790
-- index entries and fetched ~525 rows PER TRANSACTION. Before the first ANALYZE (a new database: the
-- first minute, and every benchmark run) the planner estimated one row per account and status, so
--  * the tracker's read of an account's open rows used only (chain_id, from_address) of the index and
--    filtered status, i.e. read every row the account ever sent (9,444 removed by the filter, 14 ms, at
--    11,000 rows), and
--  * markMinedMany joined each receipt to the account's rows through this index (a nested loop)
--    instead of the primary key.
-- Every status change also added an entry to it (status is in the key: no HOT update), so its 'mined'
-- and open ranges filled with entries of rows long confirmed until a vacuum came.
--
-- A partial index on the open statuses (allocated, signed, submitted, mined) contains only those rows:
-- each of the statements above finds no more than the account's open rows through it, with or without
-- statistics. No statement needs the full index: the final statuses are read by id, by request id,
-- by hash, by (chain_id, from_address, nonce), or by (status, updated_at) for retention.
CREATE INDEX "transactions_open_idx" ON "transactions" ("chain_id", "from_address", "status")
    WHERE "status" IN ('allocated', 'signed', 'submitted', 'mined');
DROP INDEX "transactions_chain_id_from_address_status_idx";

-- The outbox relay reads `WHERE published_at IS NULL ORDER BY seq`: through the (published_at, seq)
-- index it walked the entries of rows already published (~540 index entries per transaction). The
-- unpublished rows get their own partial index in relay order; retention (published_at < cutoff) a
-- partial index of the published ones, which an INSERT (published_at NULL) does not touch.
CREATE INDEX "outbox_events_unpublished_idx" ON "outbox_events" ("seq") WHERE "published_at" IS NULL;
CREATE INDEX "outbox_events_published_at_idx" ON "outbox_events" ("published_at") WHERE "published_at" IS NOT NULL;
DROP INDEX "outbox_events_published_at_seq_idx";
