import { HostList, OriginList, hostOf } from './allow-lists';

describe('hostOf', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM:8545', 'example.com'],
    ['example.com.', 'example.com'],
    ['127.0.0.1:8545', '127.0.0.1'],
    ['[::1]:8545', '::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
  ])('%s → %s', (authority, host) => expect(hostOf(authority)).toBe(host));
});

describe('HostList (RPC_VHOSTS, geth --http.vhosts rules)', () => {
  it('`*` accepts every Host', () => {
    const list = new HostList(['*']);
    expect(list.any).toBe(true);
    expect(list.allows('evil.example')).toBe(true);
  });

  it('accepts listed names with any port and case, a trailing dot, and nothing else', () => {
    const list = new HostList(['localhost', 'rpc.example.com']);
    expect(list.allows('localhost:8545')).toBe(true);
    expect(list.allows('RPC.example.com')).toBe(true);
    expect(list.allows('rpc.example.com.:443')).toBe(true);
    expect(list.allows('example.com')).toBe(false);
    expect(list.allows('rpc.example.com.evil.example')).toBe(false);
    expect(list.allows('localhost.evil.example:8545')).toBe(false);
  });

  it('always accepts IP addresses and a missing Host header (as geth)', () => {
    const list = new HostList(['localhost']);
    for (const host of ['127.0.0.1', '10.1.2.3:8545', '[::1]:8545', '[fe80::1]', undefined, '']) expect(list.allows(host)).toBe(true);
  });

  it('`*.example.com` accepts subdomains only', () => {
    const list = new HostList(['*.svc.cluster.local']);
    expect(list.allows('hsm-rpc-gateway.default.svc.cluster.local:8545')).toBe(true);
    expect(list.allows('svc.cluster.local')).toBe(false);
    expect(list.allows('xsvc.cluster.local')).toBe(false);
  });

  it('an empty list accepts only IP addresses', () => {
    const list = new HostList([]);
    expect(list.allows('localhost')).toBe(false);
    expect(list.allows('127.0.0.1:1')).toBe(true);
  });

  it('gives the same answer once the memo of header values is full and cleared', () => {
    const list = new HostList(['localhost']);
    for (let i = 0; i < 600; i++) expect(list.allows(`h${i}.evil.example`)).toBe(false);
    expect(list.allows('localhost:8545')).toBe(true);
    expect(list.allows('h1.evil.example')).toBe(false);
  });
});

describe('OriginList (RPC_CORS_ORIGINS / RPC_WS_ORIGINS)', () => {
  it('an empty list allows no browser origin', () => {
    const list = new OriginList([]);
    expect(list.allows('http://localhost:3000')).toBe(false);
    expect(list.allows('null')).toBe(false);
  });

  it('`*` allows every origin', () => {
    const list = new OriginList(['*']);
    expect(list.any).toBe(true);
    expect(list.allows('https://anything.example')).toBe(true);
  });

  it('scheme://host pins the scheme, any port', () => {
    const list = new OriginList(['https://app.example.com']);
    expect(list.allows('https://app.example.com')).toBe(true);
    expect(list.allows('https://APP.example.com:8443')).toBe(true);
    expect(list.allows('http://app.example.com')).toBe(false);
    expect(list.allows('https://app.example.com.evil.example')).toBe(false);
    expect(list.allows('https://evil.example')).toBe(false);
  });

  it('a bare host allows any scheme and port (geth ruleAllowsOrigin)', () => {
    const list = new OriginList(['localhost']);
    expect(list.allows('http://localhost:3000')).toBe(true);
    expect(list.allows('https://localhost')).toBe(true);
    expect(list.allows('http://127.0.0.1:3000')).toBe(false);
  });

  it('a port pins the port; a browser origin without one has its scheme default', () => {
    const list = new OriginList(['http://localhost:3000', 'https://secure.example:443']);
    expect(list.allows('http://localhost:3000')).toBe(true);
    expect(list.allows('http://localhost:3001')).toBe(false);
    expect(list.allows('http://localhost')).toBe(false);
    expect(list.allows('https://secure.example')).toBe(true);
    expect(list.allows('https://secure.example:8443')).toBe(false);
  });

  it('`*.example.com` allows subdomains; IPv6 origins compare without brackets', () => {
    const list = new OriginList(['https://*.example.com', 'http://[::1]:5173']);
    expect(list.allows('https://a.b.example.com')).toBe(true);
    expect(list.allows('https://example.com')).toBe(false);
    expect(list.allows('https://evilexample.com')).toBe(false);
    expect(list.allows('http://[::1]:5173')).toBe(true);
    expect(list.allows('http://[::1]:5174')).toBe(false);
  });

  it('`null` (sandboxed and file:// pages) only when listed; a value without a scheme never', () => {
    expect(new OriginList(['null']).allows('null')).toBe(true);
    expect(new OriginList(['localhost']).allows('null')).toBe(false);
    expect(new OriginList(['localhost']).allows('localhost')).toBe(false);
  });
});
