import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AwsKmsFixtureServer,
  AWS_KMS_FIXTURE_ACCESS_KEY_ID,
  AWS_KMS_FIXTURE_SECRET_ACCESS_KEY,
  AzureKeyVaultFixtureServer,
  AZURE_FIXTURE_TOKEN,
  createSoftHsmToken,
  VaultEthsignFixtureServer,
  type SoftHsmToken,
} from '@hsm-signer/testing';
import { BackendRegistry } from '../registry';
import { BackendsConfigError, loadBackendsFile, parseBackendsDocument, type ParseContext } from './backends-file';
import { ClientCertificateCredential, ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { azureCredential, createBackends } from './create-backends';

jest.setTimeout(60_000);

const ctx = (env: Record<string, string> = {}, files: Record<string, string> = {}): ParseContext => ({
  env,
  readFile: (p) => {
    if (p in files) return files[p];
    throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  },
});

describe('backends file parsing', () => {
  it('reads every backend type with secrets from env and files', () => {
    const defs = parseBackendsDocument(
      {
        backends: [
          { id: 'azure', type: 'azure-keyvault', vaultUrl: 'https://v.vault.azure.net', auth: { method: 'client-secret', tenantId: 't', clientId: 'c', clientSecret: { env: 'AZ_SECRET' } }, keys: { tag: 'eth' } },
          { id: 'vault', type: 'vault-ethsign', endpoint: 'https://vault:8200', mount: 'eth', auth: { method: 'approle', roleId: 'r', secretId: { file: '/run/secrets/sid' } }, tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' } },
          { id: 'kms', type: 'aws-kms', region: 'eu-west-1', keys: { aliasPrefix: 'eth/' } },
          { id: 'cloudhsm', type: 'pkcs11', module: '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so', tokenLabel: 'hsm1', pin: { env: 'CU_PIN' }, sessions: 8 },
        ],
      },
      'test',
      ctx({ AZ_SECRET: 'az-secret', CU_PIN: 'cu:pw' }, { '/run/secrets/sid': 'sid-value\n', '/ca.pem': 'CA', '/c.pem': 'CERT', '/k.pem': 'KEY' }),
    );
    expect(defs.map((d) => [d.id, d.type])).toEqual([
      ['azure', 'azure-keyvault'],
      ['vault', 'vault-ethsign'],
      ['kms', 'aws-kms'],
      ['cloudhsm', 'pkcs11'],
    ]);
    expect(defs[0]).toMatchObject({ auth: { method: 'client-secret', clientSecret: 'az-secret' }, keys: { tag: 'eth' } });
    expect(defs[1]).toMatchObject({ auth: { method: 'approle', secretId: 'sid-value' }, tls: { ca: 'CA', cert: 'CERT', key: 'KEY' } });
    expect(defs[2]).toMatchObject({ region: 'eu-west-1', credentials: undefined });
    expect(defs[3]).toMatchObject({ pin: 'cu:pw', sessions: 8 });
  });

  it('reports every problem at once and never echoes a secret written into the file', () => {
    let error: BackendsConfigError | undefined;
    try {
      parseBackendsDocument(
        {
          backends: [
            { id: 'a', type: 'vault-ethsign', endpoint: 'not a url', auth: { method: 'token', token: 'hvs.pasted-secret' } },
            { id: 'a', type: 'aws-kms' },
            { id: 'b', type: 'nope' },
            { id: 'c', type: 'azure-keyvault', vaultUrl: 'https://x.vault.azure.net', auth: { method: 'client-secret', tenantId: 't', clientId: 'c', clientSecret: { env: 'MISSING' } } },
          ],
        },
        'file.json',
        ctx(),
      );
    } catch (e) {
      error = e as BackendsConfigError;
    }
    expect(error).toBeInstanceOf(BackendsConfigError);
    expect(error!.problems).toEqual([
      'backends[0].auth.token must be { env: VARIABLE } or { file: PATH } (secrets are not written into the backends file)',
      'backends[0].endpoint must be an http(s) URL',
      'backends[1].id "a" is used twice',
      'backends[1].region is required (a non-empty string)',
      'backends[2].type must be one of azure-keyvault, vault-ethsign, aws-kms, pkcs11',
      'backends[3].auth.clientSecret: environment variable MISSING is not set',
    ]);
    expect(error!.message).not.toContain('pasted-secret');
  });

  it('loads YAML and JSON files', () => {
    const files = {
      '/b.yaml': 'backends:\n  - id: kms\n    type: aws-kms\n    region: us-east-1\n    keys:\n      tag: hsm-signer\n',
      '/b.json': '{"backends":[{"id":"kms","type":"aws-kms","region":"us-east-1"}]}',
      '/bad.json': '{"backends": [',
    };
    expect(loadBackendsFile('/b.yaml', ctx({}, files))).toEqual([expect.objectContaining({ id: 'kms', keys: { tag: 'hsm-signer', aliasPrefix: undefined } })]);
    expect(loadBackendsFile('/b.json', ctx({}, files))).toHaveLength(1);
    expect(() => loadBackendsFile('/bad.json', ctx({}, files))).toThrow(/not valid JSON/);
    expect(() => loadBackendsFile('/none.json', ctx({}, files))).toThrow(/cannot read the file \(ENOENT\)/);
  });
});

describe('Azure credential selection', () => {
  it('builds the credential each auth method names', async () => {
    expect(azureCredential({ method: 'client-secret', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '00000000-0000-0000-0000-000000000001', clientSecret: 's' })).toBeInstanceOf(ClientSecretCredential);
    expect(azureCredential({ method: 'certificate', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '00000000-0000-0000-0000-000000000001', certificatePath: '/c.pem' })).toBeInstanceOf(ClientCertificateCredential);
    expect(azureCredential({ method: 'managed-identity', clientId: '00000000-0000-0000-0000-000000000002' })).toBeInstanceOf(ManagedIdentityCredential);
    expect(azureCredential({ method: 'default' })).toBeInstanceOf(DefaultAzureCredential);
    let n = 0;
    const staticToken = azureCredential({ method: 'static-token', token: () => `t${++n}` });
    expect((await staticToken.getToken('https://vault.azure.net/.default'))?.token).toBe('t1');
    expect((await staticToken.getToken('https://vault.azure.net/.default'))?.token).toBe('t2');
  });
});

describe('five backends from one file (two SoftHSM2 tokens, Azure, Vault, KMS fixtures)', () => {
  const azure = new AzureKeyVaultFixtureServer();
  const vault = new VaultEthsignFixtureServer();
  const kms = new AwsKmsFixtureServer();
  let token: SoftHsmToken;
  let token2: SoftHsmToken;
  let dir: string;

  beforeAll(async () => {
    await Promise.all([azure.start(), vault.start(), kms.start()]);
    token = await createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: ['eth-1'] });
    token2 = await createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF, keys: ['eth-2', 'eth-3'], pin: '9876' });
    dir = mkdtempSync(join(tmpdir(), 'backends-file-'));
  });
  afterAll(async () => {
    await Promise.all([azure.stop(), vault.stop(), kms.stop()]);
    token?.cleanup();
    token2?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds every connector from the file (two PKCS#11 tokens among them), routes by backend id and lists all keys together', async () => {
    const az = azure.createKey('eth-a', { tags: { 'hsm-signer': '1' } });
    const va = vault.createAccount();
    const km = kms.createKey({ aliases: ['eth/a'] });
    writeFileSync(join(dir, 'vault-token'), vault.rootToken);
    writeFileSync(join(dir, 'pin2'), `${token2.pin}\n`);
    const yaml = [
      'backends:',
      '  - id: softhsm',
      '    type: pkcs11',
      `    module: ${token.module}`,
      `    tokenLabel: ${token.label}`,
      '    pin: { env: TEST_PKCS11_PIN }',
      '  - id: softhsm-2',
      '    type: pkcs11',
      `    module: ${token2.module}`,
      `    tokenLabel: ${token2.label}`,
      `    pin: { file: ${join(dir, 'pin2')} }`,
      '    sessions: 2',
      '  - id: azure',
      '    type: azure-keyvault',
      `    vaultUrl: ${azure.url}`,
      '    auth: { method: static-token, token: { env: TEST_AZURE_TOKEN } }',
      '    keys: { tag: hsm-signer }',
      '    allowInsecureConnection: true',
      '    disableChallengeResourceVerification: true',
      '  - id: vault',
      '    type: vault-ethsign',
      `    endpoint: ${vault.url}`,
      '    auth: { method: token, token: { file: ' + join(dir, 'vault-token') + ' } }',
      '  - id: kms',
      '    type: aws-kms',
      `    region: ${kms.region}`,
      `    endpoint: ${kms.url}`,
      '    credentials: { accessKeyId: { env: TEST_AWS_KEY }, secretAccessKey: { env: TEST_AWS_SECRET } }',
      '    keys: { aliasPrefix: eth/ }',
    ].join('\n');
    writeFileSync(join(dir, 'backends.yaml'), yaml);
    const env = { TEST_PKCS11_PIN: token.pin, TEST_AZURE_TOKEN: AZURE_FIXTURE_TOKEN, TEST_AWS_KEY: AWS_KMS_FIXTURE_ACCESS_KEY_ID, TEST_AWS_SECRET: AWS_KMS_FIXTURE_SECRET_ACCESS_KEY };
    const defs = loadBackendsFile(join(dir, 'backends.yaml'), { env, readFile: (p) => readFileSync(p, 'utf8') });

    const registry = new BackendRegistry({ backoff: { initialMs: 100, maxMs: 300 } });
    for (const b of createBackends(defs)) registry.add(b);
    await registry.start();
    await registry.waitUntilReady(10_000);
    const listing = await registry.listAll();
    expect(listing.map((l) => [l.backendId, l.kind, l.healthy, l.capabilities.signs])).toEqual([
      ['softhsm', 'pkcs11', true, 'digest'],
      ['softhsm-2', 'pkcs11', true, 'digest'],
      ['azure', 'azure-keyvault', true, 'digest'],
      ['vault', 'vault-ethsign', true, 'transaction'],
      ['kms', 'aws-kms', true, 'digest'],
    ]);
    expect(listing[0].keys.map((k) => k.label)).toEqual(['eth-1']);
    expect(listing[1].keys.map((k) => k.label).sort()).toEqual(['eth-2', 'eth-3']);
    expect(listing[2].keys.map((k) => k.address)).toEqual([az.address]);
    expect(listing[3].keys.map((k) => k.address)).toEqual([va]);
    expect(listing[4].keys.map((k) => k.address)).toEqual([km.address]);

    // Each request goes to the backend its KeyRef names.
    for (const l of [listing[0], listing[1], listing[2], listing[4]]) {
      const sig = await registry.signDigest({ backendId: l.backendId, keyId: l.keys[0].keyId }, randomBytes(32));
      expect(sig instanceof Uint8Array && sig.length >= 64).toBe(true);
    }
    const raw = await registry.signTransaction({ backendId: 'vault', keyId: va }, { type: 0, chainId: 1, nonce: 0, to: null, value: '0x0', data: '0x', gasLimit: '0x5208', gasPrice: '0x1' });
    expect(raw).toMatch(/^0x/);
    await registry.close();
  });
});
