import { connect, JSONCodec, type NatsConnection, type Subscription } from 'nats';
import { Client } from 'pg';
import { keyDiscoveryConfig, loadConfig } from '@hsm-signer/config';
import { Events, Routes, Subjects, type AccountsChangedEvent, type BackendCapabilities, type BackendListing, type ListKeysReply } from '@hsm-signer/contracts';
import { createLogger } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import { createTestDatabase, startNatsServer, waitFor, type NatsServer, type TestDatabase } from '@hsm-signer/testing';
import pino from 'pino';
import { startKeyDiscovery, type KeyDiscoveryService } from './app';
import { KeyDiscovery } from './discovery';
import { summariseListing } from './listing';

// Real Postgres / NATS / anvil on a shared 2-core machine: allow for slow moments.
jest.setTimeout(120_000);

const A = '0x' + 'aa'.repeat(20);
const B = '0x' + 'bb'.repeat(20);
const C = '0x' + 'cc'.repeat(20);
const caps: BackendCapabilities = { signs: 'digest', transactionTypes: [0, 1, 2] };
const legacyOnly: BackendCapabilities = { signs: 'transaction', transactionTypes: [0] };
const backend = (backendId: string, keys: string[], healthy = true, capabilities = caps): BackendListing => ({
  backendId,
  kind: capabilities === legacyOnly ? 'vault-ethsign' : 'pkcs11',
  healthy,
  ...(healthy ? {} : { error: 'token not present' }),
  capabilities,
  keys: keys.map((address, i) => ({ keyId: `${backendId}-${i}`, address, label: `key-${i}` })),
});

/**
 * TEST FIXTURE standing in for signer-service's key listing: a plain NATS responder on
 * Subjects.signerListKeys that answers in Nest's reply envelope whatever listing the test sets.
 */
class SignerListKeysFixture {
  listing: ListKeysReply = { backends: [] };
  requests = 0;
  private sub?: Subscription;
  private constructor(private readonly nc: NatsConnection) {}
  static async start(url: string): Promise<SignerListKeysFixture> {
    const fixture = new SignerListKeysFixture(await connect({ servers: url, name: 'signer-list-keys-fixture' }));
    await fixture.answer();
    return fixture;
  }
  /** Subscribes and waits until the server has the subscription. */
  async answer(): Promise<void> {
    const codec = JSONCodec<{ id?: string }>();
    this.sub = this.nc.subscribe(Subjects.signerListKeys, {
      queue: 'signer',
      callback: (_err, msg) => {
        this.requests++;
        const request = codec.decode(msg.data);
        msg.respond(JSONCodec().encode({ id: request.id, response: this.listing, isDisposed: true }));
      },
    });
    await this.nc.flush();
  }
  /** The signer goes away: no responder at all (the UNSUB is on the server before this resolves). */
  async silence(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    await this.nc.flush();
  }
  async close(): Promise<void> {
    await this.nc.drain();
  }
}

describe('listing summary (pure)', () => {
  it('keeps healthy keys, turns unhealthy backends into stale candidates, first backend wins a duplicate', () => {
    const summary = summariseListing({ backends: [backend('hsm1', [A, B]), backend('hsm2', [], false), backend('vault', [B.toUpperCase().replace('0X', '0x'), C], true, legacyOnly)] });
    expect(summary.listed.map((k) => `${k.address}@${k.backendId}`)).toEqual([`${A}@hsm1`, `${B}@hsm1`, `${C}@vault`]);
    expect(summary.unhealthyBackends).toEqual(['hsm2']);
    expect(summary.duplicates).toEqual([{ address: B, backends: ['hsm1', 'vault'], chosen: 'hsm1' }]);
    // Each account carries the types of the backend that serves it (B: hsm1's, not vault's).
    expect(summary.listed.map((k) => k.transactionTypes)).toEqual([[0, 1, 2], [0, 1, 2], [0]]);
    expect(summary.backends).toEqual([
      { backendId: 'hsm1', kind: 'pkcs11', healthy: true, keys: 2, transactionTypes: [0, 1, 2] },
      { backendId: 'hsm2', kind: 'pkcs11', healthy: false, error: 'token not present', keys: 0, transactionTypes: [0, 1, 2] },
      { backendId: 'vault', kind: 'vault-ethsign', healthy: true, keys: 2, transactionTypes: [0] },
    ]);
  });

  it('precedence follows the listing order, whichever backend id sorts first', () => {
    const summary = summariseListing({ backends: [backend('zeta', [A]), backend('alpha', [A])] });
    expect(summary.listed).toEqual([{ address: A, backendId: 'zeta', keyId: 'zeta-0', label: 'key-0', transactionTypes: [0, 1, 2] }]);
    expect(summary.duplicates).toEqual([{ address: A, backends: ['zeta', 'alpha'], chosen: 'zeta' }]);
  });
});

describe('key-discovery (2 replicas, real Postgres and nats-server, signer listing fixture)', () => {
  let db: TestDatabase;
  let nats: NatsServer;
  let fixture: SignerListKeysFixture;
  let replicas: KeyDiscoveryService[] = [];
  let bus: NatsBus;
  let pg: Client;
  const events: AccountsChangedEvent[] = [];
  const statusOf = async (address: string) => (await pg.query('SELECT status FROM accounts WHERE address = $1', [address])).rows[0]?.status;

  beforeAll(async () => {
    [db, nats] = await Promise.all([createTestDatabase(), startNatsServer()]);
    bus = await NatsBus.connect({ servers: nats.url, name: 'key-discovery-spec', requestTimeoutMs: 5_000 });
    bus.subscribe(Events.accountsChanged, (e) => events.push(e));
    await bus.connection.flush();
    const config = loadConfig(keyDiscoveryConfig, {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      DISCOVERY_HTTP_HOST: '127.0.0.1',
      DISCOVERY_HTTP_PORT: '0',
      DISCOVERY_POLL_INTERVAL_MS: '200',
      NATS_REQUEST_TIMEOUT_MS: '1000',
    });
    const logger = createLogger('key-discovery-test', 'silent');
    // Started before any signer answers: they must come up and keep retrying.
    replicas = await Promise.all([startKeyDiscovery({ ...config, serviceName: 'kd-a' }, logger), startKeyDiscovery({ ...config, serviceName: 'kd-b' }, logger)]);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) await r.close();
    await fixture?.close();
    await bus?.close();
    await pg?.end();
    await nats?.stop();
    await db?.drop();
  });

  it('keeps running and answering while no signer-service is there', async () => {
    await waitFor('a failed poll', async () => replicas.every((r) => r.discovery.lastPoll?.ok === false));
    const result = await replicas[0].discovery.pollOnce();
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/no service is answering/) });
    expect(await bus.request(Routes.accountsList, {})).toEqual({ accounts: [] });
    const health = await fetch(`${replicas[1].httpUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, service: 'key-discovery', lastPoll: { ok: false } });
  });

  it('records listed keys as active accounts within a poll interval and announces them', async () => {
    fixture = await SignerListKeysFixture.start(nats.url);
    fixture.listing = { backends: [backend('hsm1', [A, B])] };
    await waitFor('accounts listed', async () => (await bus.request(Routes.accountsList, {})).accounts.length === 2, 5_000, 50);
    expect(await bus.request(Routes.accountsList, {})).toEqual({
      accounts: [
        { address: A, backendId: 'hsm1', keyId: 'hsm1-0', status: 'active', transactionTypes: [0, 1, 2] },
        { address: B, backendId: 'hsm1', keyId: 'hsm1-1', status: 'active', transactionTypes: [0, 1, 2] },
      ],
    });
    await waitFor('an accounts-changed event', async () => events.some((e) => e.added.includes(A) && e.added.includes(B)), 5_000, 20);
    expect(await bus.request(Routes.accountsResolve, { address: B.toUpperCase().replace('0X', '0x') })).toEqual({
      account: { address: B, backendId: 'hsm1', keyId: 'hsm1-1', status: 'active', transactionTypes: [0, 1, 2] },
    });
    expect(await bus.request(Routes.accountsResolve, { address: C })).toEqual({ account: null });
    const row = (await pg.query('SELECT label, first_seen_at, last_seen_at FROM accounts WHERE address = $1', [A])).rows[0];
    expect(row.label).toBe('key-0');
    expect(row.last_seen_at.getTime()).toBeGreaterThanOrEqual(row.first_seen_at.getTime());
  });

  it('marks a key that vanished inactive, drops it from list and resolve, and announces the removal', async () => {
    events.length = 0;
    fixture.listing = { backends: [backend('hsm1', [A])] };
    await waitFor('B inactive', async () => (await statusOf(B)) === 'inactive', 5_000, 50);
    expect((await bus.request(Routes.accountsList, {})).accounts.map((a) => a.address)).toEqual([A]);
    expect(await bus.request(Routes.accountsResolve, { address: B })).toEqual({ account: null });
    await waitFor('a removal event', async () => events.some((e) => e.removed.includes(B)), 5_000, 20);
    // Nothing else changed, so no event claims A was added again.
    expect(events.every((e) => !e.added.includes(A))).toBe(true);
  });

  it('keeps the keys of an unhealthy backend as stale, and reactivates them when it recovers', async () => {
    fixture.listing = { backends: [backend('hsm1', [], false), backend('vault', [C], true, legacyOnly)] };
    await waitFor('A stale and C active', async () => (await statusOf(A)) === 'stale' && (await statusOf(C)) === 'active', 5_000, 50);
    const listed = (await bus.request(Routes.accountsList, {})).accounts;
    expect(listed.map((a) => `${a.address}:${a.status}`)).toEqual([`${A}:stale`, `${C}:active`]);
    // The stale account keeps what it had (backend, key, types): a send still goes to its backend,
    // where signer-service answers BackendUnavailable while it is down.
    expect((await bus.request(Routes.accountsResolve, { address: A })).account).toEqual({ address: A, backendId: 'hsm1', keyId: 'hsm1-0', status: 'stale', transactionTypes: [0, 1, 2] });
    // A legacy-only backend's key carries its types, so the gateway builds legacy for it.
    expect((await bus.request(Routes.accountsResolve, { address: C })).account).toEqual({ address: C, backendId: 'vault', keyId: 'vault-0', status: 'active', transactionTypes: [0] });
    await waitFor('health to show hsm1 down', async () => {
      const body = (await (await fetch(`${replicas[0].httpUrl}/health`)).json()) as { backends: { backendId: string; healthy: boolean }[] };
      return body.backends.some((b) => b.backendId === 'hsm1' && !b.healthy);
    }, 5_000, 50);
    const health = await (await fetch(`${replicas[0].httpUrl}/health`)).json();
    expect(health).toMatchObject({
      ok: true,
      backends: [
        { backendId: 'hsm1', kind: 'pkcs11', healthy: false, error: 'token not present', keys: 0 },
        { backendId: 'vault', kind: 'vault-ethsign', healthy: true, keys: 1, transactionTypes: [0] },
      ],
      duplicates: [],
    });

    fixture.listing = { backends: [backend('hsm1', [A, B]), backend('vault', [C])] };
    await waitFor('A active and B back', async () => (await statusOf(A)) === 'active' && (await statusOf(B)) === 'active', 5_000, 50);
    await waitFor('B announced again', async () => events.some((e) => e.added.includes(B)), 5_000, 20);
  });

  it('resolves an address listed by two backends to the first in listing order, and flags it in /health', async () => {
    // vault listed first here: it wins for A although hsm1 served A before.
    fixture.listing = { backends: [backend('vault', [C, A], true, legacyOnly), backend('hsm1', [A, B])] };
    await waitFor('A served by vault', async () => (await bus.request(Routes.accountsResolve, { address: A })).account?.backendId === 'vault', 5_000, 50);
    expect((await bus.request(Routes.accountsResolve, { address: A })).account).toEqual({ address: A, backendId: 'vault', keyId: 'vault-1', status: 'active', transactionTypes: [0] });
    expect((await bus.request(Routes.accountsResolve, { address: B })).account?.backendId).toBe('hsm1');
    await waitFor('both replicas to have polled the new listing', async () => replicas.every((r) => r.discovery.lastListing?.duplicates.length === 1), 5_000, 50);
    for (const r of replicas) {
      const health = await (await fetch(`${r.httpUrl}/health`)).json();
      expect(health).toMatchObject({
        ok: true,
        backends: [
          { backendId: 'vault', healthy: true, keys: 2 },
          { backendId: 'hsm1', healthy: true, keys: 2 },
        ],
        duplicates: [{ address: A, backends: ['vault', 'hsm1'], chosen: 'vault' }],
      });
    }
    // Flagged in the logs too (a poller of its own with a captured log; same registry and signer).
    const lines: Record<string, unknown>[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const poller = new KeyDiscovery(bus, replicas[0].registry, 60_000, capture);
    expect((await poller.pollOnce()).ok).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, address: A, backends: ['vault', 'hsm1'], chosen: 'vault', msg: expect.stringMatching(/listed by several backends/) }));

    // Order swapped: hsm1 wins again.
    fixture.listing = { backends: [backend('hsm1', [A, B]), backend('vault', [C, A], true, legacyOnly)] };
    await waitFor('A served by hsm1', async () => (await bus.request(Routes.accountsResolve, { address: A })).account?.backendId === 'hsm1', 5_000, 50);
    expect((await bus.request(Routes.accountsResolve, { address: A })).account?.transactionTypes).toEqual([0, 1, 2]);
  });

  it('survives the signer disappearing again, keeping the last known accounts', async () => {
    await fixture.silence();
    // pollOnce shares a poll already in flight: one answered just before the signer went must finish first.
    await replicas[1].discovery.pollOnce();
    const before = fixture.requests;
    const result = await replicas[1].discovery.pollOnce();
    expect(result.ok).toBe(false);
    expect(fixture.requests).toBe(before);
    expect((await bus.request(Routes.accountsList, {})).accounts).toHaveLength(3);
    fixture.listing = { backends: [backend('hsm1', [A])] };
    await fixture.answer();
    await waitFor('the next successful poll', async () => (await bus.request(Routes.accountsList, {})).accounts.length === 1, 5_000, 50);
    expect((await bus.request(Routes.accountsList, {})).accounts.map((a) => a.address)).toEqual([A]);
    expect(replicas.some((r) => r.discovery.lastPoll?.ok)).toBe(true);
  });
});
