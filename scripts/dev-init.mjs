#!/usr/bin/env node
// docker-compose dev stack, one-shot: make sure a SoftHSM2 token with DEV_KEYS secp256k1 keys exists
// (created on first run, reused after) and that every key's address holds ETH on the dev chain.
// Env: SOFTHSM_DIR, SOFTHSM2_CONF, PKCS11_TOKEN_LABEL, PKCS11_PIN, DEV_KEYS, ETH_NODE_URL,
//      PKCS11_MODULE (default /usr/lib/softhsm/libsofthsm2.so), DEV_FUND_WEI (default 1000 ETH).
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkcs11js = require('pkcs11js');
const { keccak256, getAddress, toBeHex } = require('ethers');

const dir = process.env.SOFTHSM_DIR ?? '/var/lib/softhsm';
const conf = process.env.SOFTHSM2_CONF ?? join(dir, 'softhsm2.conf');
const label = process.env.PKCS11_TOKEN_LABEL ?? 'hsm-signer-dev';
const pin = process.env.PKCS11_PIN ?? '1234';
const keys = Number(process.env.DEV_KEYS ?? '3');
const nodeUrl = process.env.ETH_NODE_URL ?? 'http://127.0.0.1:8555';
const modulePath = process.env.PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const fundWei = BigInt(process.env.DEV_FUND_WEI ?? 1000n * 10n ** 18n);

const tokenDir = join(dir, 'tokens');
mkdirSync(tokenDir, { recursive: true });
if (!existsSync(conf)) writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
const env = { ...process.env, SOFTHSM2_CONF: conf };

const run = (cmd, args) => execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
if (!run('softhsm2-util', ['--show-slots']).includes(`Label:            ${label}`)) {
  run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', `${pin}${pin}`, '--pin', pin]);
  console.log(`created token ${label}`);
}
const existing = run('pkcs11-tool', ['--module', modulePath, '--token-label', label, '--login', '--pin', pin, '--list-objects', '--type', 'pubkey']);
for (let i = 1; i <= keys; i++) {
  const keyLabel = `dev-key-${i}`;
  if (existing.includes(`label:      ${keyLabel}`)) continue;
  run('pkcs11-tool', ['--module', modulePath, '--token-label', label, '--login', '--pin', pin, '--keypairgen', '--key-type', 'EC:secp256k1', '--label', keyLabel, '--id', i.toString(16).padStart(2, '0')]);
  console.log(`created key ${keyLabel}`);
}

// Read the public keys back through PKCS#11 to get the addresses.
process.env.SOFTHSM2_CONF = conf;
const p = new pkcs11js.PKCS11();
p.load(modulePath);
p.C_Initialize();
const addresses = [];
try {
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
  const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }]);
  const handles = p.C_FindObjects(session, 100);
  p.C_FindObjectsFinal(session);
  for (const h of handles) {
    let point = p.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_EC_POINT }])[0].value;
    if (point.length === 67 && point[0] === 0x04 && point[1] === 0x41) point = point.subarray(2); // DER OCTET STRING wrapper
    addresses.push(getAddress('0x' + keccak256(point.subarray(1)).slice(-40)));
  }
  p.C_CloseSession(session);
} finally {
  p.C_Finalize();
}

const rpc = async (method, params) => {
  const res = await fetch(nodeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
};
for (let attempt = 0; ; attempt++) {
  try {
    await rpc('eth_chainId', []);
    break;
  } catch (error) {
    if (attempt > 60) throw error;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
for (const address of addresses) {
  const balance = BigInt(await rpc('eth_getBalance', [address, 'latest']));
  if (balance < fundWei / 2n) await rpc('anvil_setBalance', [address, toBeHex(fundWei)]);
  console.log(`account ${address} funded`);
}

// The apps run as the image's `node` user (uid 1000); hand it the token files.
if (process.getuid?.() === 0) {
  const walk = (path) => {
    chownSync(path, 1000, 1000);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
}
