import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { postgresBinDir, startPrivatePostgres, type PrivatePostgres } from './private-postgres';

async function withClient<T>(url: string, run: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPrivatePostgres', () => {
  let pg: PrivatePostgres | undefined;
  afterEach(async () => {
    await pg?.remove();
    pg = undefined;
  });

  it('finds the Debian server binaries without a hard-coded version', () => {
    expect(postgresBinDir()).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
  });

  it('serves queries, keeps its data across a fast and an immediate restart, and removes its folder', async () => {
    pg = await startPrivatePostgres();
    expect(pg.url).toBe(`postgresql://postgres@127.0.0.1:${pg.port}/postgres`);
    await withClient(pg.url, async (c) => {
      await c.query('CREATE DATABASE kept');
    });
    const kept = pg.databaseUrl('kept');
    await withClient(kept, (c) => c.query("CREATE TABLE t (v text); INSERT INTO t VALUES ('before')"));

    // A client connected across the restart is disconnected: that is what the services must survive.
    const held = new Client({ connectionString: kept });
    const lost = new Promise<Error>((resolve) => held.on('error', resolve));
    await held.connect();
    await pg.stop({ mode: 'fast' });
    expect((await lost).message).toMatch(/terminat|shut ?down|Connection/i);
    await held.end().catch(() => undefined);
    await expect(withClient(kept, (c) => c.query('SELECT 1'))).rejects.toThrow(/ECONNREFUSED/);

    await pg.start();
    await withClient(kept, (c) => c.query("INSERT INTO t VALUES ('after fast')"));
    await pg.stop({ mode: 'immediate' });
    await pg.start();
    const rows = await withClient(kept, (c) => c.query<{ v: string }>('SELECT v FROM t ORDER BY v'));
    expect(rows.rows.map((r) => r.v)).toEqual(['after fast', 'before']);
    expect(pg.logs()).toMatch(/database system is ready to accept connections/);

    const dataDir = pg.dataDir;
    await pg.remove();
    expect(existsSync(dataDir)).toBe(false);
    await expect(withClient(kept, (c) => c.query('SELECT 1'))).rejects.toThrow(/ECONNREFUSED/);
  }, 180_000);
});
