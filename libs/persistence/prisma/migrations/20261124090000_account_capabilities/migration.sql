-- Issue 4: the transaction types the key's backend can sign (copied from signer-service's listing),
-- so the gateway builds legacy transactions for legacy-only backends (Vault ethsign). NULL: unknown.
ALTER TABLE "accounts" ADD COLUMN "transaction_types" SMALLINT[];
