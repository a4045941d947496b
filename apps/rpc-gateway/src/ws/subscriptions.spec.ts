import { isSubscriptionMethod, needsNodeSocket } from './subscriptions';

describe('subscription routing', () => {
  it.each(['eth_subscribe', 'eth_unsubscribe', 'admin_subscribe'])('%s is bound to a connection', (method) => {
    expect(isSubscriptionMethod(method)).toBe(true);
  });

  it.each(['eth_call', 'eth_newFilter', 'eth_getFilterChanges', 'eth_subscribeX', 'subscribe'])('%s is not', (method) => {
    expect(isSubscriptionMethod(method)).toBe(false);
  });

  it('finds a subscription method in a single request or anywhere in a batch', () => {
    expect(needsNodeSocket(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))).toBe(true);
    expect(
      needsNodeSocket(JSON.stringify([{ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber' }, { jsonrpc: '2.0', id: 1, method: 'eth_unsubscribe', params: ['0x1'] }])),
    ).toBe(true);
  });

  it('leaves everything else on HTTP, also when "subscribe" only appears in a parameter', () => {
    expect(needsNodeSocket(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }))).toBe(false);
    expect(needsNodeSocket(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'web3_sha3', params: ['eth_subscribe'] }))).toBe(false);
    expect(needsNodeSocket('{"method":"eth_subscribe"')).toBe(false);
  });
});
