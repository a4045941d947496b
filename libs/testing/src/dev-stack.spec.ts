import { devStackOptions, devStackSettingsFromEnv, DevStackSettingsError, formatBanner, READY_LINE, type BannerInput } from './dev-stack';

describe('npm start settings', () => {
  it('defaults to the documented ports, .data in the repo and database hsm_dev', () => {
    const s = devStackSettingsFromEnv({}, '/repo');
    expect(s).toEqual({
      dataDir: '/repo/.data',
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/hsm_dev',
      natsUrl: 'nats://127.0.0.1:4222',
      anvilPort: 8555,
      rpcPort: 8545,
      restPort: 8080,
      noncePort: 8081,
      discoveryPort: 8082,
      signerPort: 8083,
      keys: 3,
      blockTime: undefined,
      signerReplicas: 1,
      discoveryPollMs: 2000,
      logLevel: 'info',
    });
    const options = devStackOptions(s);
    expect(options).toMatchObject({ dataDir: '/repo/.data', createDatabase: true, keys: 3, rpcPort: 8545, restPort: 8080, anvilPort: 8555 });
  });

  it('takes every override from the environment', () => {
    const s = devStackSettingsFromEnv(
      {
        HSM_DATA_DIR: '/tmp/x',
        RPC_PORT: '9545',
        REST_PORT: '9080',
        ANVIL_PORT: '9555',
        ANVIL_BLOCK_TIME: '2',
        NONCE_HTTP_PORT: '9081',
        DISCOVERY_HTTP_PORT: '9082',
        SIGNER_HTTP_PORT: '9083',
        DATABASE_URL: 'postgresql://u@db:5432/other',
        NATS_URL: 'nats://n:4222',
        HSM_KEYS: '5',
        SIGNER_REPLICAS: '2',
        DISCOVERY_POLL_INTERVAL_MS: '300',
        LOG_LEVEL: 'debug',
      },
      '/repo',
    );
    expect(s).toEqual({
      dataDir: '/tmp/x',
      databaseUrl: 'postgresql://u@db:5432/other',
      natsUrl: 'nats://n:4222',
      anvilPort: 9555,
      rpcPort: 9545,
      restPort: 9080,
      noncePort: 9081,
      discoveryPort: 9082,
      signerPort: 9083,
      keys: 5,
      blockTime: 2,
      signerReplicas: 2,
      discoveryPollMs: 300,
      logLevel: 'debug',
    });
  });

  it('names the variable when a value is not a valid number', () => {
    expect(() => devStackSettingsFromEnv({ RPC_PORT: 'eighty' })).toThrow(DevStackSettingsError);
    expect(() => devStackSettingsFromEnv({ RPC_PORT: '70000' })).toThrow(/RPC_PORT="70000"/);
    expect(() => devStackSettingsFromEnv({ HSM_KEYS: '0' })).toThrow(/HSM_KEYS/);
  });
});

describe('the ready banner', () => {
  const input: BannerInput = {
    rpcUrl: 'http://127.0.0.1:8545',
    restUrl: 'http://127.0.0.1:8080',
    anvilUrl: 'http://127.0.0.1:8555',
    chainId: 31337,
    natsUrl: 'nats://127.0.0.1:4222',
    databaseUrl: 'postgresql://postgres:secret@127.0.0.1:5432/hsm_dev',
    tokenLabel: 'hsm-signer-dev',
    tokenDir: '/repo/.data/softhsm',
    logDir: '/repo/.data/logs',
    addresses: ['0x1111111111111111111111111111111111111111', '0x2222222222222222222222222222222222222222'],
    fundEth: '100',
    services: { 'signer-service': 1, 'rpc-gateway': 1 },
  };

  it('prints the endpoints, a cast send from the first key to the second and an eth_accounts curl', () => {
    const banner = formatBanner(input);
    const lines = banner.split('\n');
    expect(lines).toContain(READY_LINE);
    expect(banner).toContain('http://127.0.0.1:8545');
    expect(banner).toContain('http://127.0.0.1:8080');
    expect(banner).toContain('http://127.0.0.1:8555');
    expect(lines).toContain(
      '  npx cast send --unlocked --from 0x1111111111111111111111111111111111111111 0x2222222222222222222222222222222222222222 --value 0.01ether --rpc-url http://127.0.0.1:8545',
    );
    expect(lines).toContain(
      `  curl -s -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_accounts","params":[]}' http://127.0.0.1:8545`,
    );
  });

  it('never prints the database password', () => {
    expect(formatBanner(input)).not.toContain('secret');
  });
});
