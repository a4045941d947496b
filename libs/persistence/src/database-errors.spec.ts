import { Client } from 'pg';
import { createTestDatabase, startPrivatePostgres } from '@hsm-signer/testing';
import { isDatabaseUnavailable } from './database-errors';

// Real failures from node-postgres: a server that is not there, a connection cut by a shutdown;
// and statement errors that must NOT count as "unavailable".
describe('isDatabaseUnavailable', () => {
  it('is true for a refused connection and for a connection cut by a fast shutdown', async () => {
    const refused = await new Client({ connectionString: 'postgresql://postgres@127.0.0.1:9/x', connectionTimeoutMillis: 2_000 }).connect().catch((e) => e);
    expect(isDatabaseUnavailable(refused)).toBe(true);

    const pg = await startPrivatePostgres();
    try {
      const client = new Client({ connectionString: pg.url });
      client.on('error', () => undefined);
      await client.connect();
      const cut = client.query('SELECT pg_sleep(30)').catch((e) => e);
      await pg.stop({ mode: 'fast' });
      expect(isDatabaseUnavailable(await cut)).toBe(true);
    } finally {
      await pg.remove();
    }
  }, 60_000);

  it('is false for errors of the statement itself', async () => {
    const db = await createTestDatabase();
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(isDatabaseUnavailable(await client.query('SELECT * FROM no_such_table').catch((e) => e))).toBe(false);
      expect(isDatabaseUnavailable(await client.query('SELECT 1/0').catch((e) => e))).toBe(false);
      expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
