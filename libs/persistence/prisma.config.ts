import { defineConfig } from 'prisma/config';

/**
 * Prisma 7 reads the schema location and the datasource URL from here (the `url` field left
 * schema.prisma in v7). The URL is only needed by `prisma migrate deploy|status` on a machine with
 * the schema engine; `prisma generate` (scripts/prisma-generate.mjs) runs without it.
 */
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
