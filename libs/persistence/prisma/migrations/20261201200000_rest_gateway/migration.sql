-- The REST gateway's storage (research/rest-gateway.md §2.2, §2.7): uploaded ABIs, registered
-- contract instances, and the receipt store.

-- CreateTable
CREATE TABLE "rest_abis" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "abi" JSONB NOT NULL,
    "bytecode" TEXT NOT NULL,
    "devdoc" TEXT,
    "compiler_version" TEXT,
    "deployable" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rest_abis_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rest_contracts" (
    "address" VARCHAR(42) NOT NULL,
    "abi_id" UUID NOT NULL,
    "registered_as" VARCHAR(200),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rest_contracts_pkey" PRIMARY KEY ("address")
);

-- CreateTable
CREATE TABLE "rest_replies" (
    "id" VARCHAR(200) NOT NULL,
    "body" JSONB NOT NULL,
    "pending" BOOLEAN NOT NULL DEFAULT false,
    "transaction_id" UUID,
    "from_address" VARCHAR(42),
    "to_address" VARCHAR(42),
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rest_replies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rest_abis_created_at_idx" ON "rest_abis"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "rest_contracts_registered_as_key" ON "rest_contracts"("registered_as");

-- CreateIndex
CREATE INDEX "rest_replies_received_at_idx" ON "rest_replies"("received_at" DESC);

-- CreateIndex
CREATE INDEX "rest_replies_pending_received_at_idx" ON "rest_replies"("pending", "received_at");

-- AddForeignKey
ALTER TABLE "rest_contracts" ADD CONSTRAINT "rest_contracts_abi_id_fkey" FOREIGN KEY ("abi_id") REFERENCES "rest_abis"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
