/**
 * Signing cost of the PKCS#11 connector on real SoftHSM2 tokens with 3 and 100 secp256k1 keys,
 * with 1 and 4 sessions. Run by hand (tests never assert timings):
 *
 *   node -r @swc-node/register bench/sign-softhsm.ts [signatures=2000] [--keys 3,100] [--sessions 1,4] [--rounds 3]
 *
 * Per token it prints
 *  - the native calls of one signature, synchronous on one session: C_SignInit and C_Sign (pkcs11js
 *    straight, no connector), and the system calls SoftHSM2 makes for them do not depend on the key
 *    count (two small file reads per C_SignInit, see docs/pkcs11.md);
 *  - per session count, three loops over all keys of the token (round robin, concurrency 4 per session),
 *    interleaved, each `rounds` times; the round with the least CPU per item is printed:
 *      raw      signDigest alone (C_SignInit + async C_Sign through the session pool)
 *      before   signDigest + the post-processing signer-service did until this change: ethers builds
 *               the transaction, hashes it, builds it again with the signature (two serialisations),
 *               r/s as hex in between
 *      now      signDigest + what signer-service does now: toSigningPayload (one ethers
 *               serialisation) → toLowSSignature (bytes) → serializeSignedTransaction (ethers RLP)
 *    each with throughput and CPU per item: the whole process (the libuv pool runs C_Sign) and the
 *    main thread alone (what blocks the event loop).
 * Figures and their reading: bench/README.md (sign-softhsm).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import { Pkcs11Backend, type BackendKeyInfo } from '@hsm-signer/backends';
import type { UnsignedTransaction } from '@hsm-signer/contracts';
import {
  buildSignedTransaction,
  toSigningPayload,
  secp256k1Implementation,
  serializeSignedTransaction,
  toEthereumSignature,
  toEthersTransaction,
  toLowSSignature,
  unsignedDigest,
} from '@hsm-signer/ethereum';
import { createSoftHsmToken, type SoftHsmToken } from '@hsm-signer/testing';

interface Options {
  total: number;
  rounds: number;
  keyCounts: number[];
  sessionCounts: number[];
}

function parseOptions(argv: string[]): Options {
  const list = (v: string | undefined, flag: string) => {
    const out = (v ?? '').split(',').map(Number);
    if (!out.length || out.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) throw new Error(`${flag} wants a comma-separated list of integers in [1, 1000]`);
    return out;
  };
  const o: Options = { total: 2000, rounds: 3, keyCounts: [3, 100], sessionCounts: [1, 4] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keys') o.keyCounts = list(argv[++i], '--keys');
    else if (argv[i] === '--sessions') o.sessionCounts = list(argv[++i], '--sessions');
    else if (argv[i] === '--rounds') o.rounds = list(argv[++i], '--rounds')[0];
    else if (/^\d+$/.test(argv[i])) o.total = Math.min(Number(argv[i]), 1_000_000);
    else throw new Error(`unknown argument ${argv[i]} (usage: [signatures] [--keys 3,100] [--sessions 1,4] [--rounds 3])`);
  }
  return o;
}

const TRANSFER: UnsignedTransaction = { type: 2, chainId: 31337, nonce: 0, to: '0x' + '42'.repeat(20), value: '0x1', data: '0x', gasLimit: '0x5208', maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00' };

interface Measured {
  perSecond: number;
  cpuUs: number;
  mainUs: number;
}

/**
 * CPU time (µs) of the main thread alone: utime + stime of /proc/self/task/<pid>/stat (Linux; clock
 * ticks of 10 ms, so loops are sized to seconds). The rest of process.cpuUsage() is the libuv pool,
 * where C_Sign runs, and V8's helper threads.
 */
function mainThreadCpuUs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // fields 14 and 15 of proc(5), CLK_TCK 100
}

/** Runs `work(i)` for i in [0, total) with `concurrency` loops; throughput, process and main-thread CPU per item. */
async function measure(total: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<Measured> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await work(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: total / seconds, cpuUs: (cpu.user + cpu.system) / total, mainUs: (mainThreadCpuUs() - main0) / total };
}

function row(label: string, m: Measured, unit: string): string {
  return `  ${label.padEnd(8)} ${m.perSecond.toFixed(0).padStart(6)} ${unit}/s   CPU ${m.cpuUs.toFixed(0).padStart(4)} µs/${unit}, of which main thread ${m.mainUs.toFixed(0).padStart(4)}`;
}

/** C_SignInit and C_Sign, synchronous, one session, pkcs11js without the connector: the native floor. */
function nativeCalls(token: SoftHsmToken, total: number): string {
  const p = new pkcs11js.PKCS11();
  p.load(token.module);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new Error(`token ${token.label} not found`);
    const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(session, pkcs11js.CKU_USER, token.pin);
    p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
    const keys = p.C_FindObjects(session, 1000);
    p.C_FindObjectsFinal(session);
    const digest = randomBytes(32);
    let init = 0n;
    let sign = 0n;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < total; i++) {
      const a = process.hrtime.bigint();
      p.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, keys[i % keys.length]);
      const b = process.hrtime.bigint();
      p.C_Sign(session, digest, Buffer.alloc(64));
      sign += process.hrtime.bigint() - b;
      init += b - a;
    }
    const cpu = process.cpuUsage(cpu0);
    p.C_CloseSession(session);
    const us = (ns: bigint) => (Number(ns) / 1e3 / total).toFixed(0);
    return `  native   C_SignInit ${us(init)} µs + C_Sign ${us(sign)} µs (wall, sync, one session; CPU ${((cpu.user + cpu.system) / total).toFixed(0)} µs per pair)`;
  } finally {
    p.C_Finalize();
  }
}

/** Each loop `rounds` times, interleaved; the fastest round of each counts (the least disturbed on a shared box). */
async function run(token: SoftHsmToken, sessions: number, total: number, rounds: number): Promise<string[]> {
  const backend = new Pkcs11Backend({ id: 'bench', modulePath: token.module, tokenLabel: token.label, pin: token.pin, sessions });
  await backend.connect();
  try {
    const keys: BackendKeyInfo[] = await backend.listKeys();
    const keyOf = (i: number) => keys[i % keys.length];
    const digests = Array.from({ length: total }, () => randomBytes(32));
    const concurrency = sessions * 4;
    const loops: Record<'raw' | 'before' | 'now', (i: number) => Promise<unknown>> = {
      raw: (i) => backend.signDigest(keyOf(i).keyId, digests[i]),
      before: async (i) => {
        const key = keyOf(i);
        const tx = toEthersTransaction({ ...TRANSFER, nonce: i });
        const digest = unsignedDigest(tx);
        return buildSignedTransaction(tx, toEthereumSignature(digest, await backend.signDigest(key.keyId, digest), key.publicKey!));
      },
      now: async (i) => {
        const key = keyOf(i);
        const payload = toSigningPayload({ ...TRANSFER, nonce: i });
        return serializeSignedTransaction(payload, toLowSSignature(payload.digest, await backend.signDigest(key.keyId, payload.digest), key.publicKey!));
      },
    };
    for (const work of Object.values(loops)) await measure(Math.min(total, 300), concurrency, work); // warm-up (JIT, sessions)
    const best: Partial<Record<keyof typeof loops, Measured>> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, work] of Object.entries(loops) as Array<[keyof typeof loops, (i: number) => Promise<unknown>]>) {
        const m = await measure(total, concurrency, work);
        if (!best[name] || m.cpuUs < best[name]!.cpuUs) best[name] = m;
      }
    }
    return [
      `  sessions=${sessions} (concurrency ${concurrency}, best of ${rounds} rounds of ${total}, round robin over ${keys.length} keys)`,
      row('raw', best.raw!, 'sig'),
      row('before', best.before!, 'tx'),
      row('now', best.now!, 'tx'),
    ];
  } finally {
    await backend.close();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  // One SoftHSM2 configuration for every token: the library reads SOFTHSM2_CONF once per C_Initialize.
  const tokens: SoftHsmToken[] = [];
  try {
    for (const keys of o.keyCounts) {
      const started = Date.now();
      tokens.push(await createSoftHsmToken(tokens.length ? { conf: tokens[0].conf, keys } : { keys }));
      console.log(`token with ${keys} keys created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    process.env.SOFTHSM2_CONF = tokens[0].conf;
    console.log(`secp256k1: ${secp256k1Implementation().native ? 'native' : 'JS fallback'}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
    for (const token of tokens) {
      console.log(`\ntoken with ${token.keys.length} keys`);
      console.log(nativeCalls(token, Math.min(o.total, 2000)));
      for (const sessions of o.sessionCounts) for (const line of await run(token, sessions, o.total, o.rounds)) console.log(line);
    }
  } finally {
    for (const token of tokens.reverse()) token.cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
