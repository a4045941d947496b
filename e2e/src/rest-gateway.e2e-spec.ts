import { getAddress, Interface } from 'ethers';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { join } from 'node:path';
import { COUNTER_ABI, COUNTER_BYTECODE } from './support/counter';
import { result } from './support/json-rpc';
import { sleep, useStack } from './support/stack';

interface Rest<B = Record<string, unknown>> {
  status: number;
  body: B;
  text: string;
  headers: Headers;
}

interface NodeTransaction {
  from: string;
  to: string | null;
  nonce: string;
  input: string;
}

// The ethconnect-compatible REST gateway (research/rest-gateway.md) through plain HTTP, as
// ethconnect's users call it: multipart uploads, kld- query parameters and x-kaleido- headers,
// sync and async transactions, /replies. Every transaction is checked on the chain (anvil), not
// only in the gateway's answers. Two rest-gateway replicas: async work is taken by either.
describe('rest-gateway: the ethconnect REST API end to end (real stack, plain HTTP)', () => {
  // A short nonce lease: the SIGKILL test waits for the nonces the killed replica held to be reaped.
  const stack = useStack({ keys: 4, replicas: { 'rest-gateway': 2 }, logDir: process.env['E2E_LOG_DIR'], appEnv: { 'nonce-service': { NONCE_LEASE_MS: '5000' } } });
  let rest: string;
  let rest2: string;
  let node: string;
  let keys: string[];
  let abiId: string;
  let counter: string;

  async function call<B = Record<string, unknown>>(base: string, path: string, init: RequestInit = {}): Promise<Rest<B>> {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(90_000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // HTML (the exerciser) or empty
    }
    return { status: res.status, body: body as B, text, headers: res.headers };
  }
  const postJson = <B = Record<string, unknown>>(path: string, body: unknown, base = rest) =>
    call<B>(base, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** Polls /replies/<id> until the reply is final. */
  async function finalReply(id: string, base = rest, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await call(base, `/replies/${id}`);
      if (r.status === 200 && !r.body['pending']) return r.body;
      if (Date.now() > deadline) {
        // What the ledger and the node say, so a failure can be read without the stack.
        const pg = new Client({ connectionString: stack().databaseUrl });
        await pg.connect();
        const rows = await pg.query(`SELECT t.status, t.hash, t.nonce::int, t.error, t.request_id, t.released_request_id, r.pending, r.transaction_id FROM rest_replies r LEFT JOIN transactions t ON t.id = r.transaction_id WHERE r.id = $1`, [id]);
        const byRequest = await pg.query(`SELECT id, status, hash, nonce::int, error FROM transactions WHERE request_id = $1 OR released_request_id = $1`, [id]);
        await pg.end();
        const hash = (r.body as Record<string, unknown>)['transactionHash'];
        const receipt = hash ? await result(node, 'eth_getTransactionReceipt', [hash]) : undefined;
        throw new Error(`reply ${id} not final after ${timeoutMs} ms: ${r.status} ${r.text.slice(0, 600)}\nledger: ${JSON.stringify(rows.rows)}\nby request id: ${JSON.stringify(byRequest.rows)}\nreceipt of its hash: ${JSON.stringify(receipt)}`);
      }
      await sleep(200);
    }
  }

  const txCount = async (address: string) => Number(BigInt(await result<string>(node, 'eth_getTransactionCount', [address, 'latest'])));
  // replica 2: the last test kills replica 1
  const countOf = async (contract: string) => (await call(rest2, `/contracts/${contract}/count`)).body['output'];

  beforeAll(async () => {
    rest = stack().restUrl;
    rest2 = stack().services['rest-gateway'][1]!.url;
    node = stack().anvil.url;
    keys = stack().addresses.map((a) => getAddress(a));
  });

  it('uploads an ABI with its bytecode (multipart, as ethconnect) and lists it; ?abi returns it', async () => {
    const form = new FormData();
    form.append('abi', JSON.stringify(COUNTER_ABI));
    form.append('bytecode', COUNTER_BYTECODE);
    form.append('name', 'Counter');
    const up = await call(rest, '/abis', { method: 'POST', body: form });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ name: 'Counter', deployable: true, path: `/abis/${up.body['id']}` });
    abiId = up.body['id'] as string;
    expect(String(up.body['openapi'])).toBe(`${rest}/abis/${abiId}?swagger`);

    const list = await call<Array<Record<string, unknown>>>(rest2, '/abis');
    expect(list.body.map((a) => a['id'])).toContain(abiId);
    const abi = await call<unknown[]>(rest, `/abis/${abiId}?abi`);
    expect(abi.body).toEqual(COUNTER_ABI);
  });

  it('deploys synchronously (kld-sync, kld-register): 200 receipt with the contract, registered under its name', async () => {
    const before = await txCount(keys[0]);
    const r = await postJson(`/abis/${abiId}?kld-from=${keys[0]}&kld-sync=true&kld-register=counter`, { start: '5', initialLabel: 'rest' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ headers: { type: 'TransactionSuccess' }, status: '1', from: keys[0].toLowerCase(), nonce: String(before), registerAs: 'counter' });
    counter = r.body['contractAddress'] as string;
    expect(counter).toMatch(/^0x[0-9a-f]{40}$/);
    expect(await result<string>(node, 'eth_getCode', [counter, 'latest'])).not.toBe('0x');
    expect(r.body['openapi']).toBe(`${rest}/contracts/counter?openapi`);

    const info = await call(rest2, '/contracts/counter');
    expect(info.body).toMatchObject({ address: counter.slice(2), abi: abiId, registeredAs: 'counter', path: '/contracts/counter' });
    expect(await txCount(keys[0])).toBe(before + 1);
  });

  it('calls a view with GET (no key, no transaction), by name and by address, at a given block', async () => {
    expect((await call(rest, '/contracts/counter/count')).body).toEqual({ output: '5' });
    expect((await call(rest, `/contracts/${counter}/label`)).body).toEqual({ output: 'rest' });
    expect((await call(rest, `/abis/${abiId}/${counter.slice(2)}/count?kld-blocknumber=latest`)).body).toEqual({ output: '5' });
    const earlier = await call(rest, `/contracts/counter/count?kld-blocknumber=1`);
    expect(earlier.status).toBe(200); // before the deploy the call hits no code: empty outputs, not an error
  });

  it('sends a transaction synchronously: 200 receipt, the state changed, the input decodes with kld-transaction', async () => {
    // from as the x-kaleido-from header, sync as a query flag with "true"
    const r = await call(rest, `/contracts/counter/increment?kld-sync=true`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-kaleido-from': keys[1] }, body: JSON.stringify({ by: 4 }) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ headers: { type: 'TransactionSuccess' }, status: '1', to: counter, from: keys[1].toLowerCase() });
    const tx = await result<NodeTransaction>(node, 'eth_getTransactionByHash', [r.body['transactionHash']]);
    expect(getAddress(tx.from)).toBe(keys[1]);
    expect(await countOf('counter')).toBe('9'); // 5 + 4

    const looked = await call(rest, `/contracts/counter/increment?kld-transaction=${r.body['transactionHash']}`);
    expect(looked.body).toMatchObject({ hash: r.body['transactionHash'], inputArgs: { by: '4' }, from: keys[1].toLowerCase() });
  });

  it('refuses a transaction without kld-from (400) and a bad one (404), sending nothing', async () => {
    const before = await txCount(keys[0]);
    const missing = await postJson('/contracts/counter/increment?kld-sync', { by: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body['code']).toBe('FFEC100099');
    const bad = await postJson('/contracts/counter/increment?kld-from=0x1234&kld-sync', { by: 1 });
    expect(bad.status).toBe(404);
    expect(bad.body['code']).toBe('FFEC100097');
    const unknown = await postJson(`/contracts/counter/increment?kld-from=${'0x' + '12'.repeat(20)}&kld-sync`, { by: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body['code']).toBe('HSM10002');
    expect(String(unknown.body['error'])).toContain('No signing key');
    const param = await postJson(`/contracts/counter/increment?kld-from=${keys[0]}&kld-sync`, { by: 'ten' });
    expect(param.status).toBe(400);
    expect(param.body['code']).toBe('FFEC100160');
    expect(await txCount(keys[0])).toBe(before);
  });

  it('a revert on a view is a 500 with the reason (FFEC100149); a node refusal is the node\'s message and costs no nonce', async () => {
    const reverted = await call(rest, '/contracts/counter/fail');
    expect(reverted.status).toBe(500);
    expect(reverted.body).toEqual({ error: 'Counter: always fails', code: 'FFEC100149' });

    const before = await txCount(keys[2]);
    const refused = await postJson(`/contracts/counter/increment?kld-from=${keys[2]}&kld-sync&kld-gas=1000`, { by: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body['code']).toBe('HSM40002');
    expect(String(refused.body['error']).toLowerCase()).toContain('gas');
    // The nonce was not consumed: the next send takes it, no gap.
    const ok = await postJson(`/contracts/counter/increment?kld-from=${keys[2]}&kld-sync`, { by: 1 });
    expect(ok.body).toMatchObject({ status: '1', nonce: String(before) });
    expect(await txCount(keys[2])).toBe(before + 1);
  });

  it('async (the default): 202 {sent, id} at once, the reply in /replies/<id> of any replica, pending first then the receipt', async () => {
    const r = await postJson(`/contracts/counter/increment?kld-from=${keys[0]}`, { by: 1 });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ sent: true, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const reply = await finalReply(r.body['id'] as string, rest2);
    expect(reply).toMatchObject({ headers: { type: 'TransactionSuccess', requestId: r.body['id'], requestABIId: abiId }, status: '1', _id: r.body['id'] });
    expect(reply['_hsm']).toBeUndefined();
    const tx = await result<NodeTransaction>(node, 'eth_getTransactionByHash', [reply['transactionHash']]);
    expect(Number(BigInt(tx.nonce))).toBe(Number(reply['nonce']));

    const listed = await call<Array<Record<string, unknown>>>(rest, `/replies?from=${keys[0]}&limit=5`);
    expect(listed.body.map((x) => x['_id'])).toContain(r.body['id']);
  });

  it('kld-id is idempotent: the same id again (async, then sync) returns the first transaction and sends nothing new', async () => {
    const id = `order-${Date.now()}`;
    const before = await txCount(keys[3]);
    const first = await postJson(`/contracts/counter/increment?kld-from=${keys[3]}&kld-id=${id}`, { by: 2 });
    expect(first.body).toEqual({ sent: true, id });
    const reply = await finalReply(id);
    const again = await postJson(`/contracts/counter/increment?kld-from=${keys[3]}&kld-id=${id}`, { by: 2 }, rest2);
    expect(again.status).toBe(202);
    const sync = await postJson(`/contracts/counter/increment?kld-from=${keys[3]}&kld-id=${id}&kld-sync`, { by: 2 });
    expect(sync.status).toBe(200);
    expect(sync.body['transactionHash']).toBe(reply['transactionHash']);
    await sleep(1_500); // room for a second transaction, if one were sent
    expect(await txCount(keys[3])).toBe(before + 1);
    expect((await finalReply(id))['transactionHash']).toBe(reply['transactionHash']);

    // The same id with another payload is refused, not answered with the first transaction.
    const other = await postJson(`/contracts/counter/increment?kld-from=${keys[3]}&kld-id=${id}&kld-sync`, { by: 99 });
    expect(other.status).toBe(409);
  });

  it('kld-acktype=receipt stores a pending reply before answering and refuses a reused id with 409', async () => {
    const id = `ack-${Date.now()}`;
    const first = await postJson(`/contracts/counter/increment?kld-from=${keys[0]}&kld-id=${id}&kld-acktype=receipt`, { by: 1 });
    expect(first.status).toBe(202);
    const pending = await call(rest, `/replies/${id}`);
    expect(pending.status).toBe(200);
    const second = await postJson(`/contracts/counter/increment?kld-from=${keys[0]}&kld-id=${id}&kld-acktype=receipt`, { by: 1 });
    expect(second.status).toBe(409);
    expect(second.body['code']).toBe('FFEC100219');
    expect(await finalReply(id)).toMatchObject({ status: '1' });
  });

  it('webhook messages: SendTransaction (ABI method element + plain params) and Query, as ethconnect\'s POST /hook', async () => {
    const increment = COUNTER_ABI.find((e) => (e as { name?: string }).name === 'increment');
    const sent = await postJson('/hook', { headers: { type: 'SendTransaction' }, from: keys[1], to: counter, method: increment, params: ['10'] });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ sent: true });
    expect(await finalReply(sent.body['id'] as string)).toMatchObject({ status: '1', from: keys[1].toLowerCase() });
    const countAbi = COUNTER_ABI.find((e) => (e as { name?: string }).name === 'count');
    const query = await postJson('/', { headers: { type: 'Query' }, to: counter, method: countAbi, params: [] });
    expect(query.body).toEqual({ output: await countOf('counter') });
    // methodName + typed params declare no outputs: the raw return data
    const untyped = await postJson('/', { headers: { type: 'Query' }, to: counter, methodName: 'count', params: [] });
    expect(untyped.body).toEqual({ raw: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const privateTx = await postJson('/hook', { headers: { type: 'SendTransaction' }, from: keys[1], to: counter, method: increment, params: ['1'], privateFor: ['key'] });
    expect(privateTx.status).toBe(400);
    expect(privateTx.body).toMatchObject({ sent: false, error: expect.stringContaining('HSM10003') });
    const wrong = await postJson('/fasthook', { headers: {}, from: keys[1] });
    expect(wrong.status).toBe(400);
    expect(wrong.body['sent']).toBe(false);
  });

  it('serves the generated Swagger 2.0 for the ABI and the contract, and the API exerciser with local assets', async () => {
    const factory = await call(rest, `/abis/${abiId}?swagger`);
    expect(factory.body).toMatchObject({ swagger: '2.0', basePath: `/abis/${abiId}` });
    expect(Object.keys(factory.body['paths'] as object)).toEqual(expect.arrayContaining(['/', '/{address}/increment', '/{address}/count']));
    const instance = await call(rest, '/contracts/counter?openapi');
    expect(instance.body).toMatchObject({ swagger: '2.0', basePath: '/contracts/counter' });
    expect(Object.keys(instance.body['paths'] as object)).toEqual(expect.arrayContaining(['/increment', '/count']));
    const ui = await call(rest, '/contracts/counter?ui');
    expect(ui.headers.get('content-type')).toContain('text/html');
    const assets = [...ui.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u.startsWith('/'));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect((await fetch(`${rest}${asset}`)).status).toBe(200);
    expect(ui.text).not.toMatch(/https?:\/\/(unpkg|cdn)/);
  });

  it('compiles an uploaded Solidity file and deploys it', async () => {
    const form = new FormData();
    const source = readFileSync(join(__dirname, 'fixtures', 'Counter.sol'), 'utf8');
    form.append('files', new Blob([source]), 'Counter.sol');
    const up = await call(rest, '/abis', { method: 'POST', body: form });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ deployable: true });
    const deployed = await postJson(`/abis/${up.body['id']}?kld-from=${keys[2]}&kld-sync`, { start: 1, initialLabel: 'compiled' });
    expect(deployed.body).toMatchObject({ status: '1' });
    expect(await countOf(String(deployed.body['contractAddress']))).toBe('1');
  });

  it('100 concurrent sync sends from one account over both replicas: all mined, nonces contiguous', async () => {
    const from = keys[1];
    const start = await txCount(from);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => postJson(`/contracts/counter/increment?kld-from=${from}&kld-sync`, { by: 1 }, i % 2 ? rest2 : rest)),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const nonces = answers.map((a) => Number(a.body['nonce'])).sort((a, b) => a - b);
    expect(nonces).toEqual(Array.from({ length: 100 }, (_, i) => start + i));
    expect(await txCount(from)).toBe(start + 100);
  });

  it('a replica SIGKILLed with accepted async requests: the other replica processes every one, each exactly once, no gap left', async () => {
    const from = keys[2];
    const start = await txCount(from);
    const countBefore = BigInt(String(await countOf('counter')));
    const victim = stack().services['rest-gateway'][0]!;
    const accepted = await Promise.all(Array.from({ length: 40 }, () => postJson<{ id: string }>(`/contracts/counter/increment?kld-from=${from}`, { by: 1 }, victim.url)));
    expect(accepted.map((a) => a.status)).toEqual(accepted.map(() => 202));
    await victim.kill();
    const replies = await Promise.all(accepted.map((a) => finalReply(a.body.id, rest2, 150_000)));
    expect(replies.map((r) => r['status'])).toEqual(replies.map(() => '1'));
    expect(new Set(replies.map((r) => r['transactionHash'])).size).toBe(40);
    expect(new Set(replies.map((r) => r['nonce'])).size).toBe(40);
    // Exactly once: the counter moved by 40, no more (a request sent twice would add 2).
    expect(BigInt(String(await countOf('counter')))).toBe(countBefore + 40n);
    // No gap: a nonce the victim took and never broadcast was reused or filled with a zero-value
    // self-transfer (issue 3), so the account's count is the 40 plus the fills the ledger made.
    const pg = new Client({ connectionString: stack().databaseUrl });
    await pg.connect();
    const deadline = Date.now() + 60_000;
    let fills = 0;
    let mined = 0;
    for (;;) {
      const rows = await pg.query(`SELECT count(*) FILTER (WHERE kind = 'gap-fill')::int AS fills, max(nonce)::int AS top FROM transactions WHERE from_address = $1 AND nonce >= $2 AND status IN ('mined', 'confirmed')`, [from.toLowerCase(), start]);
      fills = rows.rows[0].fills;
      mined = await txCount(from);
      if (mined === start + 40 + fills && rows.rows[0].top === mined - 1) break;
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    await pg.end();
    expect(mined).toBe(start + 40 + fills);
    const iface = new Interface(COUNTER_ABI);
    for (const reply of replies.slice(0, 5)) {
      const tx = await result<NodeTransaction>(node, 'eth_getTransactionByHash', [reply['transactionHash']]);
      expect(iface.parseTransaction({ data: tx.input })?.name).toBe('increment');
    }
  }, 240_000);

  it('a replica SIGKILLed between the broadcast and its ledger record: the retry under the same kld-id finds that transaction and sends no second one', async () => {
    const from = keys[3];
    const start = await txCount(from);
    const countBefore = BigInt(String(await countOf('counter')));
    const paused = await stack().startService('rest-gateway', { HSM_TEST_PAUSE_AFTER_SUBMIT_MS: '120000' });
    const id = `crash-after-broadcast-${Date.now()}`;
    // Sync: processed by the replica it is sent to, which broadcasts and then holds before the record.
    const doomed = postJson(`/contracts/counter/increment?kld-from=${from}&kld-id=${id}&kld-sync`, { by: 1 }, paused.url).catch((e: unknown) => e);
    const deadline = Date.now() + 30_000;
    while ((await txCount(from)) === start) {
      if (Date.now() > deadline) throw new Error('the request was never broadcast');
      await sleep(100);
    }
    await paused.kill();
    // The client lost its connection (fetch's TypeError, from another realm under jest): it retries.
    expect(((await doomed) as Error).message).toMatch(/fetch failed|terminated|closed/i);
    const retry = await postJson(`/contracts/counter/increment?kld-from=${from}&kld-id=${id}&kld-sync`, { by: 1 }, rest2);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: '1', nonce: String(start) });
    await sleep(2_000); // room for a second transaction, if one were sent
    expect(await txCount(from)).toBe(start + 1);
    expect(BigInt(String(await countOf('counter')))).toBe(countBefore + 1n);
  }, 240_000);
});
