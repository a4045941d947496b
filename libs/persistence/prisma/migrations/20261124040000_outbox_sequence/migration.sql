-- Outbox events relay in the order they were written: created_at has millisecond precision (and is
-- the transaction's start time), so two state changes of one transaction in the same millisecond
-- (mined, then confirmed) could be relayed out of order. A sequence orders them.

-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN "seq" BIGSERIAL NOT NULL;

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "outbox_events"("published_at", "seq");
