import { ErrorCode, Routes, type Account, type Route, type SignDigestRequest, type SignTransactionRequest } from '@hsm-signer/contracts';
import { NoUnlockedAccountError, type PreparedTransaction, type TransactionRequest } from '@hsm-signer/ethereum';
import { NoRespondersError, RemoteServiceError } from '@hsm-signer/messaging';
import { EIP712_DOMAIN_FIELDS, MAIL_MESSAGE, MAIL_TYPES } from '@hsm-signer/testing';
import { Transaction, Wallet, verifyMessage } from 'ethers';
import pino from 'pino';
import { JsonRpcHandler } from './json-rpc-handler';
import { LocalMethods } from './local-methods';
import { SigningMethods } from './signing-methods';

// The signing methods end to end inside the gateway, with signer-service replaced by a software key
// (an ethers Wallet, RFC 6979 deterministic like Wallet.signMessage): the same key must give the
// byte-identical signatures ethers' own Wallet gives. The real HSM path is in sign-digest.spec.ts
// (signer-service) and e2e/src/signing-methods.e2e-spec.ts.

const wallet = new Wallet('0x' + '42'.repeat(32));
const from = wallet.address.toLowerCase();
const account: Account = { address: from, backendId: 'soft', keyId: 'k1', status: 'active', transactionTypes: [0, 1, 2] };
const stranger = '0x' + '99'.repeat(20);

const domain = { name: 'Ether Mail', version: '1', chainId: 31337, verifyingContract: '0x' + 'cc'.repeat(20) };
const types = MAIL_TYPES;
const message = MAIL_MESSAGE;
const typedData = { types: { EIP712Domain: EIP712_DOMAIN_FIELDS, ...types }, primaryType: 'Mail', domain, message };

function setup(options: { digestError?: Error } = {}) {
  const requests: Array<{ subject: string; payload: unknown }> = [];
  const prepared: TransactionRequest[] = [];
  const bus = {
    async request<Req, Rep>(route: Route<Req, Rep>, payload: Req): Promise<Rep> {
      requests.push({ subject: route.subject, payload });
      route.request(payload); // what signer-service would validate on receipt
      if (route.subject === Routes.signerSignDigest.subject) {
        if (options.digestError) throw options.digestError;
        const sig = wallet.signingKey.sign((payload as SignDigestRequest).digest);
        return route.reply({ r: sig.r, s: sig.s, yParity: sig.yParity, signature: sig.serialized });
      }
      if (route.subject === Routes.signerSignTransaction.subject) {
        const { tx } = payload as SignTransactionRequest;
        const signed = Transaction.from({ ...tx, gasLimit: tx.gasLimit, to: tx.to });
        signed.signature = wallet.signingKey.sign(signed.unsignedHash);
        return route.reply({ raw: signed.serialized, hash: signed.hash });
      }
      throw new Error(`unexpected subject ${route.subject}`);
    },
  };
  const accounts = {
    async resolve(address: string) {
      if (address.toLowerCase() === from) return account;
      throw new NoUnlockedAccountError(address);
    },
  };
  const sender = {
    chainId: async () => 31337,
    async prepare(request: TransactionRequest, chainId: number): Promise<PreparedTransaction> {
      prepared.push(request);
      // As the send path completes a request without gas or fees (estimate × multiplier, 2 × base fee + tip).
      return { type: 2, chainId, to: request.to, value: '0x' + request.value.toString(16), data: request.data, gasLimit: '0x5208', maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' };
    },
  };
  const signing = new SigningMethods({ accounts, sender, bus });
  const posted: string[] = [];
  const local = new LocalMethods({ list: async () => [account] }, { sendTransaction: async () => '0x' }, signing);
  // The node answers a batch with one result per request (it only ever gets the pass-through part).
  const node = async (body: string) => {
    posted.push(body);
    const sent = JSON.parse(body) as Array<{ id: number }>;
    return { status: 200, body: JSON.stringify(sent.map((r) => ({ jsonrpc: '2.0', id: r.id, result: '0x10' }))), contentType: 'application/json' };
  };
  const handler = new JsonRpcHandler({ post: node }, local, { maxBatchSize: 10, logger: pino({ level: 'silent' }) });
  const rpc = async (method: string, params: unknown[]) => {
    const reply = await handler.handle(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
    return { status: reply.status, ...(JSON.parse(reply.body) as { result?: string; error?: { code: number; message: string } }) };
  };
  return { rpc, handler, requests, prepared, posted };
}

describe('signing methods with a software key in place of signer-service', () => {
  it('personal_sign and eth_sign give the signature Wallet.signMessage gives (hex bytes and UTF-8 text)', async () => {
    const { rpc, requests, posted } = setup();
    const hello = '0x' + Buffer.from('hello HSM').toString('hex');
    expect((await rpc('personal_sign', [hello, from])).result).toBe(await wallet.signMessage('hello HSM'));
    expect((await rpc('eth_sign', [wallet.address, hello])).result).toBe(await wallet.signMessage('hello HSM'));
    expect((await rpc('personal_sign', ['plain text', from])).result).toBe(await wallet.signMessage('plain text'));
    expect((await rpc('eth_sign', [from, '0xdeadbeef'])).result).toBe(await wallet.signMessage(new Uint8Array([0xde, 0xad, 0xbe, 0xef])));
    const signature = (await rpc('personal_sign', [hello, from])).result!;
    expect(verifyMessage('hello HSM', signature).toLowerCase()).toBe(from);
    expect(['1b', '1c']).toContain(signature.slice(-2)); // v = 27 / 28
    // signer-service got the key reference and only the digest, never the message.
    expect(requests[0]).toEqual({ subject: 'hsm.v1.signer.sign-digest', payload: { from, key: { backendId: 'soft', keyId: 'k1' }, digest: expect.stringMatching(/^0x[0-9a-f]{64}$/) } });
    expect(posted).toEqual([]);
  });

  it.each(['eth_signTypedData', 'eth_signTypedData_v3', 'eth_signTypedData_v4'])('%s gives the signature Wallet.signTypedData gives (object or JSON string)', async (method) => {
    const { rpc } = setup();
    const expected = await wallet.signTypedData(domain, types, message);
    expect((await rpc(method, [from, typedData])).result).toBe(expected);
    expect((await rpc(method, [from, JSON.stringify(typedData)])).result).toBe(expected);
  });

  it('eth_signTransaction completes the transaction as a send does, signs with the given nonce, returns the raw hex string', async () => {
    const { rpc, requests, prepared, posted } = setup();
    const to = '0x' + '77'.repeat(20);
    const { result } = await rpc('eth_signTransaction', [{ from, to, value: '0x2a', nonce: '0x5' }]);
    expect(typeof result).toBe('string');
    const tx = Transaction.from(result!);
    expect(tx.from!.toLowerCase()).toBe(from);
    expect(tx.nonce).toBe(5);
    expect(tx.type).toBe(2);
    expect(tx.chainId).toBe(31337n);
    expect(tx.value).toBe(42n);
    expect(tx.gasLimit).toBe(21_000n);
    expect(prepared).toHaveLength(1);
    expect(requests.map((r) => r.subject)).toEqual(['hsm.v1.signer.sign-transaction']);
    expect(posted).toEqual([]); // nothing broadcast
  });

  it('eth_signTransaction without a nonce is -32602, nothing prepared or signed', async () => {
    const { rpc, requests, prepared } = setup();
    const reply = await rpc('eth_signTransaction', [{ from, to: from, value: '0x1' }]);
    expect(reply.status).toBe(200);
    expect(reply.error?.code).toBe(-32602);
    expect(reply.error?.message).toContain('the gateway assigns nonces only to transactions it sends itself (eth_sendTransaction)');
    expect(prepared).toEqual([]);
    expect(requests).toEqual([]);
  });

  it.each([
    ['eth_sign', [stranger, '0x01']],
    ['personal_sign', ['0x01', stranger]],
    ['eth_signTypedData_v4', [stranger, typedData]],
    ['eth_signTransaction', [{ from: stranger, to: from, nonce: '0x0' }]],
  ])('%s for an unknown account: -32000 "No unlocked account matches the Sender", HTTP 200 (Web3Signer), never the node', async (method, params) => {
    const { rpc, requests, posted } = setup();
    const reply = await rpc(method, params);
    expect(reply).toMatchObject({ status: 200, error: { code: -32000, message: 'No unlocked account matches the Sender' } });
    expect(requests).toEqual([]);
    expect(posted).toEqual([]);
  });

  it('a backend that signs whole transactions only (Vault ethsign): -32000 naming the account and why', async () => {
    const refusal = new RemoteServiceError(
      'hsm.v1.signer.sign-digest',
      ErrorCode.UnsupportedTransaction,
      'backend vault (vault-ethsign) signs whole transactions only; it cannot sign messages or typed data (eth_sign, personal_sign, eth_signTypedData)',
    );
    const { rpc } = setup({ digestError: refusal });
    const reply = await rpc('personal_sign', ['0x01', from]);
    expect(reply.status).toBe(200);
    expect(reply.error).toEqual({
      code: -32000,
      message: `account ${from} cannot sign messages or typed data: backend vault (vault-ethsign) signs whole transactions only; it cannot sign messages or typed data (eth_sign, personal_sign, eth_signTypedData) (HSM20005)`,
    });
  });

  it('bad typed data is -32602 with the reason, before any account lookup or signature', async () => {
    const { rpc, requests } = setup();
    const bad = { ...typedData, message: { ...message, to: { name: 'Bob', wallet: 'nope' } } };
    const reply = await rpc('eth_signTypedData_v4', [from, bad]);
    expect(reply.status).toBe(200);
    expect(reply.error).toEqual({ code: -32602, message: 'Invalid params: typed data cannot be encoded (EIP-712): typedData.message.to.wallet is not a valid address: invalid address ("nope")' });
    expect(requests).toEqual([]);
  });

  it('signer-service down: -32000 "signer-service is not available" (HTTP 503), as on a send', async () => {
    const { rpc } = setup({ digestError: new NoRespondersError('hsm.v1.signer.sign-digest') });
    const reply = await rpc('eth_sign', [from, '0x01']);
    expect(reply.status).toBe(503);
    expect(reply.error?.code).toBe(-32000);
    expect(reply.error?.message).toMatch(/^signer-service is not available: nothing answers on hsm.v1.signer.sign-digest/);
  });

  it('signing methods are answered locally in a batch too; only the pass-through part reaches the node', async () => {
    const { handler, posted } = setup();
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'personal_sign', params: ['0x01', from] },
      { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] },
      { jsonrpc: '2.0', id: 3, method: 'eth_signTypedData_v4', params: [stranger, typedData] },
    ];
    const replies = JSON.parse((await handler.handle(JSON.stringify(batch))).body) as Array<{ id: number; result?: string; error?: { code: number } }>;
    expect(replies.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(replies[0].result).toBe(await wallet.signMessage(new Uint8Array([1])));
    expect(replies[1].result).toBe('0x10');
    expect(replies[2].error?.code).toBe(-32000);
    expect(posted.map((b) => (JSON.parse(b) as Array<{ method: string }>).map((r) => r.method))).toEqual([['eth_blockNumber']]);
  });

  it('without a signer wired (test doubles), the methods are still never passed through', async () => {
    const local = new LocalMethods({ list: async () => [] }, { sendTransaction: async () => '0x' });
    for (const method of SigningMethods.methods) expect(local.handles(method)).toBe(true);
    await expect(local.call({ jsonrpc: '2.0', id: 1, method: 'eth_sign', params: [from, '0x01'] }, {})).rejects.toMatchObject({ code: -32603 });
  });
});
