-- The ledger behaves like a queue: every transaction is inserted once and updated three times
-- (submitted, mined, confirmed), and each update of an indexed column leaves a dead entry in the
-- partial index of the open rows (migration 20261201300000_open_row_indexes) that the tracker's reads
-- step over until a vacuum removes it. Postgres' default waits for dead tuples to reach 20 % of the
-- table (200,000 at a million rows, i.e. ~65,000 transactions' worth of dead entries); vacuum instead
-- after 1 % (+ 1,000), and analyse after 2 % so the planner's picture of the open rows stays current.
-- A vacuum of this table reads only the pages changed since the last one (visibility map).
ALTER TABLE "transactions" SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_analyze_threshold = 1000
);
