-- The REST gateway's reply completer reads `WHERE pending AND transaction_id IS NOT NULL ORDER BY
-- received_at, id LIMIT n` every round. Through (pending, received_at) a planner without statistics
-- (a new database) scanned the whole table and hash-joined it to a scan of transactions instead
-- (rest-storm, leg 3: 146 scans of rest_replies reading 72,512 rows and 87 of transactions for
-- ~2,200 requests); and each final reply added an entry to that index. A partial index of the
-- pending replies in the completer's order holds only what it looks for and needs no sort.
CREATE INDEX "rest_replies_pending_idx" ON "rest_replies" ("received_at", "id") WHERE "pending";
DROP INDEX "rest_replies_pending_received_at_idx";
