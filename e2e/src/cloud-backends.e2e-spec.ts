import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, ContractFactory, JsonRpcProvider, Transaction, Wallet, getAddress } from 'ethers';
import {
  AwsKmsFixtureServer,
  AWS_KMS_FIXTURE_ACCESS_KEY_ID,
  AWS_KMS_FIXTURE_SECRET_ACCESS_KEY,
  AzureKeyVaultFixtureServer,
  AZURE_FIXTURE_TOKEN,
  appMainPath,
  freePort,
  fundAccounts,
  VaultEthsignFixtureServer,
  waitFor,
  type StackOptions,
} from '@hsm-signer/testing';
import { Routes } from '@hsm-signer/contracts';
import { NatsBus } from '@hsm-signer/messaging';
import { COUNTER_ABI, COUNTER_BYTECODE } from './support/counter';
import { sortedLower, useStack } from './support/stack';

interface NodeTransaction {
  hash: string;
  from: string;
  type: string;
  v: string;
  s: string;
}

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

// Issue 4 acceptance through the whole stack: the SoftHSM2 token plus the three cloud backends
// (Azure Key Vault, Vault ethsign, AWS KMS — local fixture servers speaking their wire APIs) configured
// at once in one BACKENDS_CONFIG_FILE, used by ethers through the rpc-gateway, read back from anvil.
describe('every backend at once through the rpc-gateway', () => {
  const azure = new AzureKeyVaultFixtureServer();
  const vault = new VaultEthsignFixtureServer();
  const kms = new AwsKmsFixtureServer();
  const dir = mkdtempSync(join(tmpdir(), 'cloud-backends-e2e-'));
  const options: StackOptions = { keys: 1, natsRequestTimeoutMs: 5_000 };
  let cloud: { azure: string; vault: string; kms: string };

  // Declared before useStack, so the fixtures run and the file exists when the stack starts.
  beforeAll(async () => {
    await Promise.all([azure.start(), vault.start(), kms.start()]);
    cloud = {
      azure: getAddress(azure.createKey('eth-1', { tags: { 'hsm-signer': '1' } }).address),
      vault: getAddress(vault.createAccount()),
      kms: getAddress(kms.createKey({ aliases: ['eth/one'] }).address),
    };
    writeFileSync(join(dir, 'vault-token'), vault.rootToken);
    const file = join(dir, 'backends.yaml');
    writeFileSync(
      file,
      [
        'backends:',
        '  - id: azure',
        '    type: azure-keyvault',
        `    vaultUrl: ${azure.url}`,
        '    auth: { method: static-token, token: { env: E2E_AZURE_TOKEN } }',
        '    keys: { tag: hsm-signer }',
        '    allowInsecureConnection: true',
        '    disableChallengeResourceVerification: true',
        '    requestTimeoutMs: 2000',
        '    maxRetries: 1',
        '  - id: vault',
        '    type: vault-ethsign',
        `    endpoint: ${vault.url}`,
        `    auth: { method: token, token: { file: ${join(dir, 'vault-token')} } }`,
        '  - id: kms',
        '    type: aws-kms',
        `    region: ${kms.region}`,
        `    endpoint: ${kms.url}`,
        '    credentials: { accessKeyId: { env: E2E_AWS_KEY }, secretAccessKey: { env: E2E_AWS_SECRET } }',
        '    keys: { aliasPrefix: eth/ }',
        '    maxAttempts: 2',
      ].join('\n'),
    );
    options.appEnv = {
      'signer-service': { BACKENDS_CONFIG_FILE: file, E2E_AZURE_TOKEN: AZURE_FIXTURE_TOKEN, E2E_AWS_KEY: AWS_KMS_FIXTURE_ACCESS_KEY_ID, E2E_AWS_SECRET: AWS_KMS_FIXTURE_SECRET_ACCESS_KEY },
    };
  });
  const stack = useStack(options);
  let provider: JsonRpcProvider;
  const recipient = Wallet.createRandom().address;
  const onChain = (hash: string) => stack().anvil.rpc<NodeTransaction>('eth_getTransactionByHash', [hash]);
  /**
   * The receipt of `hash`, mining a block now and then while it is not there: anvil's automine leaves
   * a sender's transaction that arrived before its predecessor queued until something else is mined
   * (shared/services.md), and 10 concurrent sends may reach it in any order. Bounded.
   */
  const minedNudging = async (hash: string) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const receipt = await provider.getTransactionReceipt(hash);
      if (receipt) return receipt;
      await stack().anvil.rpc('evm_mine');
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${hash} not mined within 60 s`);
  };

  beforeAll(async () => {
    provider = new JsonRpcProvider(stack().rpcUrl, undefined, { cacheTimeout: -1 });
    provider.pollingInterval = 100;
    await fundAccounts(stack().anvil.url, Object.values(cloud), '100');
    await waitFor('eth_accounts to list the cloud keys', async () => (await stack().accounts()).length === 4, 60_000, 200);
  }, 120_000);
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([azure.stop(), vault.stop(), kms.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('eth_accounts / listAccounts() lists the token key and every cloud key', async () => {
    const listed = (await provider.listAccounts()).map((s) => s.address);
    expect(sortedLower(listed)).toEqual(sortedLower([...stack().addresses, cloud.azure, cloud.vault, cloud.kms]));
  });

  it('one run, one send from each of the four backends (SoftHSM2, Azure, Vault, KMS), all mined with the right from', async () => {
    const senders = [getAddress(stack().addresses[0]), cloud.azure, cloud.vault, cloud.kms];
    const sent = await Promise.all(
      // No type anywhere: the gateway picks type 2 for the digest signers and legacy for Vault's key.
      senders.map(async (from) => (await provider.getSigner(from)).sendTransaction({ to: recipient, value: 7n })),
    );
    for (const [i, tx] of sent.entries()) {
      expect((await tx.wait())?.status).toBe(1);
      expect(getAddress((await onChain(tx.hash)).from)).toBe(senders[i]);
    }
  });

  it.each(['azure', 'kms'] as const)('%s: a value transfer and a contract deploy mine with the right from', async (name) => {
    const from = cloud[name];
    const signer = await provider.getSigner(from);
    const tx = await signer.sendTransaction({ to: recipient, value: 1_000n });
    expect((await tx.wait())?.status).toBe(1);
    expect(getAddress((await onChain(tx.hash)).from)).toBe(from);

    const contract = (await new ContractFactory(COUNTER_ABI, COUNTER_BYTECODE, signer).deploy(1n, name)) as Contract;
    const deployed = await contract.deploymentTransaction()!.wait();
    expect(deployed?.status).toBe(1);
    expect(getAddress((await onChain(deployed!.hash)).from)).toBe(from);
  });

  it('vault: with no type asked, a value transfer and a contract deploy mine as legacy EIP-155 with the right from', async () => {
    // key-discovery carries the backend's types (vault-ethsign: [0]) on the account.
    const bus = await NatsBus.connect({ servers: stack().natsUrl, name: 'cloud-backends-e2e', requestTimeoutMs: 5_000 });
    try {
      const { account } = await bus.request(Routes.accountsResolve, { address: cloud.vault.toLowerCase() });
      expect(account).toMatchObject({ backendId: 'vault', status: 'active', transactionTypes: [0] });
    } finally {
      await bus.close();
    }
    const signer = await provider.getSigner(cloud.vault);
    const tx = await signer.sendTransaction({ to: recipient, value: 2_000n });
    expect((await tx.wait())?.status).toBe(1);
    const mined = await onChain(tx.hash);
    expect(getAddress(mined.from)).toBe(cloud.vault);
    expect(Number(mined.type)).toBe(0);
    // EIP-155: v = chainId·2 + 35 + recovery id.
    expect([31337n * 2n + 35n, 31337n * 2n + 36n]).toContain(BigInt(mined.v));

    const contract = (await new ContractFactory(COUNTER_ABI, COUNTER_BYTECODE, signer).deploy(2n, 'vault')) as Contract;
    const deployed = await contract.deploymentTransaction()!.wait();
    expect(deployed?.status).toBe(1);
    const minedDeploy = await onChain(deployed!.hash);
    expect(getAddress(minedDeploy.from)).toBe(cloud.vault);
    expect(Number(minedDeploy.type)).toBe(0);
    // An explicit legacy type still works.
    const explicit = await signer.sendTransaction({ to: recipient, value: 3n, type: 0 });
    expect(Number((await onChain(explicit.hash)).type)).toBe(0);
    expect((await explicit.wait())?.status).toBe(1);
  });

  it('vault: asking for type 2 gives a clear unsupported-transaction error and sends nothing', async () => {
    const before = vault.signRequests.length;
    const res = await fetch(stack().rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: cloud.vault, to: recipient, value: '0x1', type: '0x2' }] }),
    });
    const body = (await res.json()) as { error?: { code: number; message: string } };
    expect(body.error?.code).toBe(-32602);
    expect(body.error?.message).toMatch(/type 0x2 was asked.*can only sign types 0x0 \(legacy/i);
    expect(vault.signRequests.length).toBe(before);
  });

  it.each(['azure', 'kms'] as const)('%s: 200 sends, 0 invalid: high s and both recovery ids hit', async (name) => {
    const from = cloud[name];
    const stats = name === 'azure' ? azure.stats : kms.stats;
    const highBefore = stats.highS;
    const hashes: string[] = [];
    // 10 at a time: the gateway's nonce allocation serialises per account; replies come back in any order.
    for (let batch = 0; batch < 20; batch++) {
      const sent = await Promise.all(
        Array.from({ length: 10 }, () => provider.send('eth_sendTransaction', [{ from, to: recipient, value: '0x1' }]) as Promise<string>),
      );
      hashes.push(...sent);
    }
    const parity = [0, 0];
    for (const hash of hashes) {
      const receipt = await minedNudging(hash);
      expect(receipt?.status).toBe(1);
      const tx = await onChain(hash);
      expect(getAddress(tx.from)).toBe(from);
      expect(BigInt(tx.s) <= HALF_N).toBe(true);
      const raw = await stack().anvil.rpc<string>('eth_getRawTransactionByHash', [hash]);
      parity[Transaction.from(raw).signature!.yParity]++;
    }
    expect(hashes).toHaveLength(200);
    expect(parity[0]).toBeGreaterThan(0);
    expect(parity[1]).toBeGreaterThan(0);
    expect(stats.highS - highBefore).toBeGreaterThan(0);
  }, 300_000);

  it('a backend whose server stops: a clear error for its accounts, the others unaffected; back → works without restarts', async () => {
    await azure.stop();
    const started = Date.now();
    const res = await fetch(stack().rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: cloud.azure, to: recipient, value: '0x1' }] }),
    });
    const body = (await res.json()) as { error?: { code: number; message: string } };
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(body.error?.message).toMatch(/unavailable/i);

    // key-discovery keeps its account as stale (still listed), and reports the backend down.
    type DiscoveryHealth = { backends: { backendId: string; healthy: boolean; keys: number }[]; duplicates: unknown[] };
    const discoveryHealth = async () => (await (await fetch(`${stack().services['key-discovery'][0].url}/health`)).json()) as DiscoveryHealth;
    await waitFor('key-discovery to see azure down', async () => (await discoveryHealth()).backends.some((b) => b.backendId === 'azure' && !b.healthy), 30_000, 200);
    const health = await discoveryHealth();
    expect(health.backends.find((b) => b.backendId === 'azure')).toMatchObject({ healthy: false, keys: 0 });
    expect(health.backends.find((b) => b.backendId === 'kms')).toMatchObject({ healthy: true, keys: 1 });
    expect(health.duplicates).toEqual([]);
    expect(sortedLower((await provider.listAccounts()).map((s) => s.address))).toContain(cloud.azure.toLowerCase());

    const other = await (await provider.getSigner(cloud.kms)).sendTransaction({ to: recipient, value: 1n });
    expect((await other.wait())?.status).toBe(1);

    await azure.start();
    const hash = await waitFor(
      'the azure account to sign again',
      async () => (await provider.send('eth_sendTransaction', [{ from: cloud.azure, to: recipient, value: '0x1' }])) as string,
      60_000,
      500,
    );
    expect((await provider.waitForTransaction(hash, 1, 60_000))?.status).toBe(1);
  }, 120_000);

  // Last: this extra signer-service replica joins the "signer" queue group while it runs.
  it('bad credentials: the backend is unhealthy in /health and the logs, with a reason that names no secret', async () => {
    const secret = 'eyJhbGciOi.e2e-wrong-token.c2VjcmV0';
    const file = join(dir, 'bad-backends.yaml');
    writeFileSync(
      file,
      [
        'backends:',
        '  - id: azure-bad',
        '    type: azure-keyvault',
        `    vaultUrl: ${azure.url}`,
        '    auth: { method: static-token, token: { env: E2E_BAD_TOKEN } }',
        '    allowInsecureConnection: true',
        '    disableChallengeResourceVerification: true',
      ].join('\n'),
    );
    const port = await freePort();
    const env: Record<string, string> = { ...stack().envFor('signer-service'), SIGNER_HTTP_PORT: String(port), BACKENDS_CONFIG_FILE: file, E2E_BAD_TOKEN: secret };
    for (const k of Object.keys(env)) if (k.startsWith('PKCS11_')) delete env[k];
    const child = spawn(process.execPath, [appMainPath('signer-service')], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      const health = await waitFor(
        'the degraded signer-service health',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/health`);
          const body = (await res.json()) as { status: string; backends: Array<{ id: string; healthy: boolean; reason?: string }> };
          return res.status === 503 && body.backends.length ? body : undefined;
        },
        60_000,
        200,
      );
      expect(health.status).toBe('degraded');
      expect(health.backends).toEqual([expect.objectContaining({ id: 'azure-bad', healthy: false, reason: expect.stringMatching(/authentication failed \(HTTP 401/) })]);
      expect(JSON.stringify(health)).not.toContain(secret);
      await waitFor('the failure in the log', async () => /authentication failed/.test(logs), 10_000, 100);
      expect(logs).not.toContain(secret);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }, 90_000);
});
