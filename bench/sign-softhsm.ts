/**
 * Signing throughput of the PKCS#11 connector on a real SoftHSM2 token, with 1 and 4 sessions.
 * Run by hand (tests never assert timings):
 *
 *   node -r @swc-node/register bench/sign-softhsm.ts [signatures=4000]
 *
 * Prints raw C_Sign throughput through the session pool, and throughput including the Ethereum
 * post-processing signer-service does per request (low-s + native recovery id + tx serialisation).
 */
import { randomBytes } from 'node:crypto';
import { Pkcs11Backend } from '@hsm-signer/backends';
import { buildSignedTransaction, secp256k1Implementation, toEthereumSignature, toEthersTransaction, unsignedDigest } from '@hsm-signer/ethereum';
import { createSoftHsmToken } from '@hsm-signer/testing';

const total = Number(process.argv[2] ?? 4000);

async function run(sessions: number, token: Awaited<ReturnType<typeof createSoftHsmToken>>): Promise<void> {
  const backend = new Pkcs11Backend({ id: 'bench', modulePath: token.module, tokenLabel: token.label, pin: token.pin, sessions });
  await backend.connect();
  try {
    const [key] = await backend.listKeys();
    const digests = Array.from({ length: total }, () => randomBytes(32));
    // warm-up
    await Promise.all(digests.slice(0, 100).map((d) => backend.signDigest(key.keyId, d)));

    const concurrency = sessions * 4;
    const measure = async (work: (i: number) => Promise<unknown>) => {
      let next = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) await work(next++);
        }),
      );
      return total / (Number(process.hrtime.bigint() - started) / 1e9);
    };

    const raw = await measure((i) => backend.signDigest(key.keyId, digests[i]));
    const tx = toEthersTransaction({ type: 2, chainId: 31337, nonce: 0, to: '0x' + '42'.repeat(20), value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x2', maxPriorityFeePerGas: '0x1' });
    const full = await measure(async (i) => {
      const t = tx.clone();
      t.nonce = i;
      const digest = unsignedDigest(t);
      const sig = toEthereumSignature(digest, await backend.signDigest(key.keyId, digest), key.publicKey!);
      return buildSignedTransaction(t, sig);
    });
    console.log(`sessions=${sessions}  C_Sign: ${raw.toFixed(0)} sign/s   sign + post-process + serialise: ${full.toFixed(0)} tx/s   (${total} each, concurrency ${concurrency})`);
  } finally {
    await backend.close();
  }
}

async function main(): Promise<void> {
  const token = await createSoftHsmToken({ keys: 1 });
  // SoftHSM2 reads SOFTHSM2_CONF at C_Initialize (first connect).
  process.env.SOFTHSM2_CONF = token.conf;
  console.log(`secp256k1: ${secp256k1Implementation().native ? 'native' : 'JS fallback'}; token ${token.label}`);
  try {
    for (const sessions of [1, 4]) await run(sessions, token);
  } finally {
    token.cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
