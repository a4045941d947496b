import { applyMigrations, createPrismaClient, RestStore, type PrismaClient, type StoredReply } from '@hsm-signer/persistence';
import { createTestDatabase, type TestDatabase } from '@hsm-signer/testing';
import { RestError, RestErrorCode } from '../errors';
import { PENDING_META } from '../replies/reply-completer';
import { RepliesApi, servedReply } from './replies';

// Real Postgres on a shared machine: allow for slow moments.
jest.setTimeout(120_000);

const QUERY_LIMIT = 20;
const addr = (n: number) => '0x' + n.toString(16).padStart(40, '0');
const T0 = Date.parse('2026-06-01T12:00:00.000Z');

async function restErrorOf(p: Promise<unknown>): Promise<RestError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestError);
  return error as RestError;
}

describe('servedReply', () => {
  it('strips the internal meta and adds _id and receivedAt (epoch ms)', () => {
    const reply: StoredReply = {
      id: 'req-1',
      body: { headers: { type: 'TransactionPending' }, pending: true, [PENDING_META]: { kind: 'send', baseUrl: 'http://x' } },
      pending: true,
      transactionId: null,
      from: null,
      to: null,
      receivedAt: new Date(T0),
    };
    expect(servedReply(reply)).toEqual({ headers: { type: 'TransactionPending' }, pending: true, _id: 'req-1', receivedAt: T0 });
    // The stored body is left as it is (the completer still needs the meta).
    expect(reply.body).toHaveProperty(PENDING_META);
  });
});

describe('RepliesApi (real RestStore on Postgres)', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let store: RestStore;
  let api: RepliesApi;

  /** Stores a reply received at T0 + n seconds, from addr(from) to addr(to). */
  async function reply(id: string, n: number, from = 1, to = 2, extra: Record<string, unknown> = {}): Promise<void> {
    await store.saveReply({ id, pending: false, body: { headers: { type: 'TransactionSuccess', requestId: id }, n, ...extra }, from: addr(from), to: addr(to) });
    await prisma.$executeRaw`UPDATE rest_replies SET received_at = ${new Date(T0 + n * 1_000)} WHERE id = ${id}`;
  }

  const list = async (query: string) => {
    const answer = await api.list(new URLSearchParams(query));
    expect(answer.status).toBe(200);
    return (answer.body as Array<Record<string, unknown>>).map((r) => r['_id']);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url);
    prisma = createPrismaClient(db.url, { poolSize: 4 });
    store = new RestStore(prisma);
    api = new RepliesApi(store, QUERY_LIMIT);
    // r00 … r24, received a second apart; r24 is the newest. from/to: r00–r04 from addr(0xa) to addr(0xb).
    for (let n = 0; n < 25; n++) await reply(`r${String(n).padStart(2, '0')}`, n, n < 5 ? 0xa : 1, n < 5 ? 0xb : 2);
    await reply('with-meta', -100, 3, 4, { [PENDING_META]: { kind: 'deploy', baseUrl: 'http://gw', requestId: 'with-meta', receivedAt: 1 } });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  describe('get', () => {
    it('serves a stored reply without its internal meta, with _id and receivedAt', async () => {
      const answer = await api.get('with-meta');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ headers: { type: 'TransactionSuccess', requestId: 'with-meta' }, n: -100, _id: 'with-meta', receivedAt: T0 - 100_000 });
    });

    it('unknown id, or one outside the id charset: 404 FFEC100085', async () => {
      for (const id of ['nope', 'bad id', 'x'.repeat(201)]) {
        const error = await restErrorOf(api.get(id));
        expect([error.status, error.code]).toEqual([404, RestErrorCode.ReceiptNotFound]);
        expect(error.code).toBe('FFEC100085');
      }
    });
  });

  describe('list', () => {
    it('answers the 10 newest by default, newest first, each served (no meta, _id, receivedAt)', async () => {
      const answer = await api.list(new URLSearchParams(''));
      const body = answer.body as Array<Record<string, unknown>>;
      expect(body.map((r) => r['_id'])).toEqual(['r24', 'r23', 'r22', 'r21', 'r20', 'r19', 'r18', 'r17', 'r16', 'r15']);
      expect(body[0]['receivedAt']).toBe(T0 + 24_000);
      expect(body.every((r) => !(PENDING_META in r))).toBe(true);
    });

    it('takes a limit and a skip', async () => {
      expect(await list('limit=3')).toEqual(['r24', 'r23', 'r22']);
      expect(await list('limit=2&skip=3')).toEqual(['r21', 'r20']);
      expect(await list(`limit=${QUERY_LIMIT}`)).toHaveLength(QUERY_LIMIT);
    });

    it('a limit over queryLimit: 400 FFEC100078 "Maximum limit is N"', async () => {
      const error = await restErrorOf(api.list(new URLSearchParams(`limit=${QUERY_LIMIT + 1}`)));
      expect([error.status, error.code]).toEqual([400, RestErrorCode.InvalidReplyQuery]);
      expect(error.code).toBe('FFEC100078');
      expect(error.message).toBe(`Maximum limit is ${QUERY_LIMIT}`);
    });

    it.each([['limit=-1'], ['limit=ten'], ['limit=1.5'], ['skip=-2'], ['skip=x']])('%s: 400 FFEC100078', async (query) => {
      const error = await restErrorOf(api.list(new URLSearchParams(query)));
      expect([error.status, error.code]).toEqual([400, 'FFEC100078']);
    });

    it('ids: only those replies, and no default limit of 10', async () => {
      expect(await list('id=r03&id=r01&id=missing')).toEqual(['r03', 'r01']);
      const ids = Array.from({ length: 12 }, (_v, n) => `r${String(n).padStart(2, '0')}`);
      expect(await list(ids.map((id) => `id=${id}`).join('&'))).toEqual([...ids].reverse());
    });

    it('ids outside the charset: 400 FFEC100078', async () => {
      for (const id of ['a b', 'semi;colon', 'x'.repeat(201), '']) {
        const error = await restErrorOf(api.list(new URLSearchParams({ id })));
        expect([error.status, error.code]).toEqual([400, RestErrorCode.InvalidReplyQuery]);
      }
    });

    it('since as RFC 3339: only replies received after it', async () => {
      expect(await list(`since=${encodeURIComponent(new Date(T0 + 21_000).toISOString())}`)).toEqual(['r24', 'r23', 'r22']);
      expect(await list(`since=${encodeURIComponent('2026-06-01T14:00:20+02:00')}`)).toEqual(['r24', 'r23', 'r22', 'r21']);
    });

    it('since as epoch milliseconds', async () => {
      expect(await list(`since=${T0 + 22_000}`)).toEqual(['r24', 'r23']);
      expect(await list(`since=${T0 + 22_500}`)).toEqual(['r24', 'r23']);
    });

    it.each([['yesterday'], ['2026-13-45T99:00:00Z']])('since %p: 400 FFEC100078', async (since) => {
      const error = await restErrorOf(api.list(new URLSearchParams({ since })));
      expect([error.status, error.code]).toEqual([400, 'FFEC100078']);
      expect(error.message).toContain('since');
    });

    it('from and to: filter on the addresses, any case, 0x optional', async () => {
      expect(await list(`from=${addr(0xa)}`)).toEqual(['r04', 'r03', 'r02', 'r01', 'r00']);
      expect(await list(`to=${addr(0xb).slice(2).toUpperCase()}`)).toEqual(['r04', 'r03', 'r02', 'r01', 'r00']);
      expect(await list(`from=${addr(0xa)}&to=${addr(2)}`)).toEqual([]);
      expect(await list(`from=0X${addr(3).slice(2)}`)).toEqual(['with-meta']);
    });

    it.each([['from', '0x1234'], ['to', 'not-an-address'], ['from', '0x' + 'g'.repeat(40)]])('%s=%s: 400 FFEC100078', async (name, value) => {
      const error = await restErrorOf(api.list(new URLSearchParams({ [name]: value })));
      expect([error.status, error.code]).toEqual([400, 'FFEC100078']);
      expect(error.message).toContain(`'${name}'`);
    });

    it('combines the filters', async () => {
      expect(await list(`from=${addr(0xa)}&since=${T0 + 1_000}&limit=2&skip=1`)).toEqual(['r03', 'r02']);
    });
  });
});
