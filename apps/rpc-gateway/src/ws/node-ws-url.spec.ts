import { describeNodeUrl, nodeWebSocketUrl } from './node-ws-url';

describe('nodeWebSocketUrl', () => {
  it('takes ETH_NODE_WS_URL as given', () => {
    expect(nodeWebSocketUrl('wss://ws.example:8546/key', 'http://127.0.0.1:8545')).toBe('wss://ws.example:8546/key');
  });

  it.each([
    ['http://127.0.0.1:8555', 'ws://127.0.0.1:8555/'],
    ['https://mainnet.example/v3/abc', 'wss://mainnet.example/v3/abc'],
    ['http://user:pw@node:8545/rpc?x=1', 'ws://user:pw@node:8545/rpc?x=1'],
  ])('derives it from ETH_NODE_URL %s (http→ws, https→wss, path and credentials kept)', (http, ws) => {
    expect(nodeWebSocketUrl('', http)).toBe(ws);
    expect(nodeWebSocketUrl(undefined, http)).toBe(ws);
  });
});

describe('describeNodeUrl', () => {
  it('keeps scheme, host and port only (paths and credentials may hold API keys)', () => {
    expect(describeNodeUrl('wss://user:secret@mainnet.example/v3/abc?k=1')).toBe('wss://mainnet.example');
    expect(describeNodeUrl('not a url')).toBe('(invalid URL)');
  });
});
