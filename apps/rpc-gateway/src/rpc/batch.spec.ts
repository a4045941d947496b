import { DownstreamUnavailableError, InvalidRequestError, parseJsonRpcPayload, type BatchEntry, type JsonRpcResponse } from '@hsm-signer/ethereum';
import { mergeBatch, planBatch, upstreamRequests } from './batch';

const isLocal = (m: string) => m === 'eth_accounts' || m === 'eth_sendTransaction';

function entries(body: unknown[]): BatchEntry[] {
  const p = parseJsonRpcPayload(JSON.stringify(body));
  if (p.kind !== 'batch') throw new Error('expected a batch');
  return p.entries;
}

describe('batch split and merge', () => {
  const batch = entries([
    { jsonrpc: '2.0', id: 'x', method: 'eth_accounts' },
    { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' },
    { jsonrpc: '2.0', method: 'eth_chainId' }, // notification
    { jsonrpc: '2.0', id: 1, method: 'eth_gasPrice' }, // the client reused id 1
    { jsonrpc: '1.0', id: 9, method: 'x' }, // invalid
  ]);

  it('splits local, forwarded and invalid entries, rewriting upstream ids to batch positions', () => {
    const plan = planBatch(batch, isLocal);
    expect(plan.local.map((l) => l.index)).toEqual([0]);
    expect(plan.forward.map((f) => f.index)).toEqual([1, 2, 3]);
    expect(plan.invalid.map((i) => [i.index, i.id])).toEqual([[4, 9]]);
    expect(upstreamRequests(plan)).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' },
      { jsonrpc: '2.0', method: 'eth_chainId' },
      { jsonrpc: '2.0', id: 3, method: 'eth_gasPrice' },
    ]);
  });

  it('merges in the client order with the client ids, whatever order the node answered in', () => {
    const plan = planBatch(batch, isLocal);
    const local = new Map<number, JsonRpcResponse>([[0, { jsonrpc: '2.0', id: 'x', result: ['0xab'] }]]);
    const upstreamBody = [
      { jsonrpc: '2.0', id: 3, result: '0x3b9aca00' },
      { jsonrpc: '2.0', id: 1, result: '0x10' },
    ];
    expect(mergeBatch(plan, local, { ok: true, status: 200, body: upstreamBody })).toEqual([
      { jsonrpc: '2.0', id: 'x', result: ['0xab'] },
      { jsonrpc: '2.0', id: 1, result: '0x10' },
      { jsonrpc: '2.0', id: 1, result: '0x3b9aca00' },
      { jsonrpc: '2.0', id: 9, error: new InvalidRequestError('jsonrpc must be "2.0"').toJSON() },
    ]);
  });

  it("relays the node's error objects verbatim and flags answers the node left out", () => {
    const plan = planBatch(batch, isLocal);
    const merged = mergeBatch(plan, new Map(), { ok: true, status: 200, body: [{ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope', data: 'x' } }] });
    expect(merged[1]).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope', data: 'x' } });
    expect(merged[2]).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'Invalid response from downstream node (HTTP 200)' } });
  });

  it('gives every forwarded entry the upstream failure, and a whole-batch error object to each', () => {
    const plan = planBatch(batch, isLocal);
    const down = mergeBatch(plan, new Map(), { ok: false, error: new DownstreamUnavailableError(false) });
    expect(down.slice(1, 3).map((r) => 'error' in r && r.error)).toEqual([
      { code: -32000, message: 'Failed to connect to downstream node' },
      { code: -32000, message: 'Failed to connect to downstream node' },
    ]);
    const refused = mergeBatch(plan, new Map(), { ok: true, status: 200, body: { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'batch not supported' } } });
    expect(refused.slice(1, 3).map((r) => 'error' in r && r.error.message)).toEqual(['batch not supported', 'batch not supported']);
    const garbage = mergeBatch(plan, new Map(), { ok: true, status: 502, body: undefined });
    expect('error' in garbage[1] && garbage[1].error.message).toBe('Invalid response from downstream node (HTTP 502)');
  });

  it('answers nothing for an all-notification batch', () => {
    const plan = planBatch(entries([{ jsonrpc: '2.0', method: 'eth_chainId' }]), isLocal);
    expect(mergeBatch(plan, new Map(), { ok: true, status: 200, body: [] })).toEqual([]);
  });
});
