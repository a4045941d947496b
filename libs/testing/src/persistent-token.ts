import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listTokenKeys, type TokenPublicKey } from './token-keys';

const run = promisify(execFile);

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** A SoftHSM2 token that lives in a folder of its own and survives restarts (the `npm start` dev token). */
export interface PersistentToken {
  dir: string;
  conf: string;
  module: string;
  label: string;
  pin: string;
  /** What signer-service needs: SOFTHSM2_CONF plus its PKCS11_* settings. */
  env: Record<string, string>;
  /** True when this call created the token, false when it was found and reused. */
  created: boolean;
  keys(): Promise<TokenPublicKey[]>;
  addKey(label: string): Promise<TokenPublicKey>;
  deleteKey(label: string): Promise<void>;
  /** Nothing to clean: the folder is kept on purpose. */
  cleanup(): Promise<void>;
}

interface TokenState {
  label: string;
  pin: string;
}

/**
 * Opens the token kept in `dir` (softhsm2.conf, tokens/, token.json with label and PIN), creating it on
 * first use, and makes sure it holds at least `keys` secp256k1 keys labelled key-1…key-N. Commands as in
 * shared/services.md (softhsm2-util --init-token, pkcs11-tool --keypairgen --key-type EC:secp256k1).
 */
export async function openPersistentToken(dir: string, options: { label?: string; keys?: number } = {}): Promise<PersistentToken> {
  const conf = join(dir, 'softhsm2.conf');
  const tokensDir = join(dir, 'tokens');
  const stateFile = join(dir, 'token.json');
  mkdirSync(tokensDir, { recursive: true });
  writeFileSync(conf, `directories.tokendir = ${tokensDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const childEnv = { ...process.env, SOFTHSM2_CONF: conf };

  let state: TokenState | undefined;
  if (existsSync(stateFile)) {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as TokenState;
    const found = await run('softhsm2-util', ['--show-slots'], { env: childEnv }).then(
      ({ stdout }) => new RegExp(`Label:\\s+${escapeRegExp(state!.label)}\\s*$`, 'm').test(stdout),
      () => false,
    );
    if (!found) state = undefined;
  }
  let created = false;
  if (!state) {
    state = { label: options.label ?? 'hsm-signer-dev', pin: randomBytes(8).toString('hex') };
    await run('softhsm2-util', ['--init-token', '--free', '--label', state.label, '--so-pin', randomBytes(8).toString('hex'), '--pin', state.pin], {
      env: childEnv,
    });
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    chmodSync(stateFile, 0o600);
    created = true;
  }
  const { label, pin } = state;
  const tool = (args: string[]) =>
    run('pkcs11-tool', ['--module', SOFTHSM2_MODULE, '--token-label', label, '--login', '--pin', pin, ...args], { env: childEnv });
  const ref = { module: SOFTHSM2_MODULE, label, env: { SOFTHSM2_CONF: conf } };

  const token: PersistentToken = {
    dir,
    conf,
    module: SOFTHSM2_MODULE,
    label,
    pin,
    env: { SOFTHSM2_CONF: conf, PKCS11_MODULE: SOFTHSM2_MODULE, PKCS11_TOKEN_LABEL: label, PKCS11_PIN: pin },
    created,
    keys: () => listTokenKeys(ref),
    async addKey(keyLabel) {
      await tool(['--keypairgen', '--key-type', 'EC:secp256k1', '--label', keyLabel, '--id', randomBytes(8).toString('hex')]);
      const key = (await listTokenKeys(ref)).find((k) => k.label === keyLabel);
      if (!key) throw new Error(`key ${keyLabel} was generated but is not listed on token ${label}`);
      return key;
    },
    async deleteKey(keyLabel) {
      await tool(['--delete-object', '--type', 'privkey', '--label', keyLabel]);
      await tool(['--delete-object', '--type', 'pubkey', '--label', keyLabel]);
    },
    cleanup: async () => undefined,
  };

  const wanted = options.keys ?? 3;
  // Top up to `wanted` keys; keys the user added or removed by hand are left as they are.
  const present = new Set((await token.keys()).map((k) => k.label));
  for (let i = 1; present.size < wanted; i++) {
    if (present.has(`key-${i}`)) continue;
    await token.addKey(`key-${i}`);
    present.add(`key-${i}`);
  }
  return token;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
