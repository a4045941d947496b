import { ConfigError, loadConfig } from '../setting';
import { rpcGatewayConfig } from './rpc-gateway';

describe('rpc-gateway Host and Origin allow-list settings', () => {
  it('defaults: no CORS origins, every Host, WebSocket origins follow CORS', () => {
    const config = loadConfig(rpcGatewayConfig, {});
    expect(config.corsOrigins).toBeUndefined();
    expect(config.vhosts).toEqual(['*']);
    expect(config.wsOrigins).toBeUndefined();
  });

  it('splits, trims and lower-cases the lists', () => {
    const config = loadConfig(rpcGatewayConfig, {
      RPC_CORS_ORIGINS: ' https://App.Example.com, app.example.com:8080,,*.x.io, null, http://[::1]:3000 ',
      RPC_VHOSTS: 'localhost, *.svc.cluster.local,[::1],10.0.0.1',
      RPC_WS_ORIGINS: '*',
    });
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'app.example.com:8080', '*.x.io', 'null', 'http://[::1]:3000']);
    expect(config.vhosts).toEqual(['localhost', '*.svc.cluster.local', '[::1]', '10.0.0.1']);
    expect(config.wsOrigins).toEqual(['*']);
  });

  it('refuses entries that are not origins or host names, naming each', () => {
    let error: unknown;
    try {
      loadConfig(rpcGatewayConfig, { RPC_CORS_ORIGINS: 'https://a.com/path,ok.com', RPC_VHOSTS: 'a b,c:80', RPC_WS_ORIGINS: 'https://*' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'RPC_CORS_ORIGINS="https://a.com/path,ok.com" is invalid: not an origin: "https://a.com/path"',
      'RPC_VHOSTS="a b,c:80" is invalid: not a host name: "a b", "c:80"',
      'RPC_WS_ORIGINS="https://*" is invalid: not an origin: "https://*"',
    ]);
  });
});
