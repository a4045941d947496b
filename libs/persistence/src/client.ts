import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export { PrismaClient, Prisma } from './generated/prisma/client';
export type { Account, NonceAccount, ReleasedNonce, Transaction, TransactionAttempt, OutboxEvent } from './generated/prisma/client';
export { AccountStatus, TransactionStatus, NonceSource } from './generated/prisma/enums';

export interface PrismaClientOptions {
  /** Size of the pg connection pool (default 10: pg's own default). */
  poolSize?: number;
}

/**
 * A Prisma 7 client on the pg driver adapter (no query-engine binary: shared/services.md). The hot
 * paths use `$queryRaw` with single statements; the model API is for the rest.
 */
export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10, application_name: 'hsm-signer' });
  return new PrismaClient({ adapter });
}
