/**
 * A real SoftHSM2 token in a temporary directory, for tests and the local stack
 * (research/backend-apis.md §C.6). Keys are generated inside the token with pkcs11-tool, exactly as an
 * operator would, so the code under test never sees private key material.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { withFileLock, withFileLockSync } from './file-lock';

const run = promisify(execFile);

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmTokenOptions {
  /** Token label (default `hsm-test-<random>`). */
  label?: string;
  /** User PIN (default 1234). The SO PIN is fixed to 12345678. */
  pin?: string;
  /** How many secp256k1 keys to create (labelled `key-1`…), or their labels. */
  keys?: number | string[];
  /** Parent directory (default the OS temp dir). */
  parentDir?: string;
  /**
   * Add the token to this existing SoftHSM2 configuration instead of creating a new one; cleanup()
   * then deletes only this token. Jest tests that use PKCS#11 in-process pass process.env.SOFTHSM2_CONF
   * as set by libs/testing/jest-softhsm-env.js (native code cannot see jest's sandboxed env).
   */
  conf?: string;
}

export interface SoftHsmKeyInfo {
  label: string;
  /** CKA_ID as lower-case hex (the PKCS#11 connector's keyId). */
  id: string;
}

export interface SoftHsmToken {
  dir: string;
  /** Path of the SOFTHSM2_CONF file naming this token directory. */
  conf: string;
  module: string;
  label: string;
  pin: string;
  soPin: string;
  /** Environment for child processes (SOFTHSM2_CONF, PKCS11_MODULE, PKCS11_TOKEN_LABEL, PKCS11_PIN). */
  env: Record<string, string>;
  keys: SoftHsmKeyInfo[];
  /** Generates a secp256k1 key pair in the token (pkcs11-tool --keypairgen); CKA_ID is random unless given. */
  addKey(label: string, id?: string): Promise<SoftHsmKeyInfo>;
  /** Deletes the key pair (private and public objects) with this label. */
  deleteKey(label: string): Promise<void>;
  /** Removes the token (and its directory, unless it was added to a shared configuration). */
  cleanup(): void;
}

/** Installs softhsm2 and opensc when missing (as root), else explains which command to run. */
export function ensureSoftHsmInstalled(): void {
  if (existsSync(SOFTHSM_MODULE) && hasCommand('softhsm2-util') && hasCommand('pkcs11-tool')) return;
  const command = 'apt-get install -y softhsm2 opensc';
  if (process.getuid?.() !== 0) throw new Error(`SoftHSM2 / OpenSC are not installed; run as root: ${command}`);
  try {
    execFileSync('sh', ['-c', `${command} || (apt-get update && ${command})`], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (error) {
    throw new Error(`installing SoftHSM2 failed; run: ${command}`, { cause: error });
  }
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`${SOFTHSM_MODULE} still missing after ${command}`);
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function randomHex(bytes: number): string {
  return Array.from({ length: bytes }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
}

/**
 * Creates a fresh token with its own SOFTHSM2_CONF and token directory, or adds one to `conf`.
 * Token creations into one shared configuration run one after another, in this process (a queue)
 * and across processes (a lock file next to the configuration: jest workers share it): two
 * `softhsm2-util --init-token --free` on the same token directory at once race for the free slot
 * ("Could not get info about the token in slot …", seen in a fresh-clone run).
 */
const creationsByConf = new Map<string, Promise<unknown>>();

export async function createSoftHsmToken(options: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  if (options.conf === undefined) return createToken(options);
  const previous = creationsByConf.get(options.conf) ?? Promise.resolve();
  const conf = options.conf;
  const created = previous.catch(() => undefined).then(() => withFileLock(`${conf}.lock`, () => createToken(options)));
  creationsByConf.set(options.conf, created);
  return created;
}

async function createToken(options: SoftHsmTokenOptions): Promise<SoftHsmToken> {
  ensureSoftHsmInstalled();
  const shared = options.conf !== undefined;
  let dir: string;
  let conf: string;
  if (options.conf !== undefined) {
    if (!existsSync(options.conf)) throw new Error(`SoftHSM2 configuration ${options.conf} does not exist`);
    conf = options.conf;
    dir = dirname(conf);
  } else {
    dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'softhsm-'));
    const tokens = join(dir, 'tokens');
    mkdirSync(tokens);
    conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  }
  const label = options.label ?? `hsm-test-${randomHex(4)}`;
  const pin = options.pin ?? '1234';
  const soPin = '12345678';
  const env = { SOFTHSM2_CONF: conf };
  const childEnv = { ...process.env, ...env };
  await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env: childEnv });

  const tool = (args: string[]) => run('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, '--login', '--pin', pin, ...args], { env: childEnv });
  const keys: SoftHsmKeyInfo[] = [];

  const token: SoftHsmToken = {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    label,
    pin,
    soPin,
    env: { ...env, PKCS11_MODULE: SOFTHSM_MODULE, PKCS11_TOKEN_LABEL: label, PKCS11_PIN: pin },
    keys,
    async addKey(keyLabel, id = randomHex(8)) {
      await tool(['--keypairgen', '--key-type', 'EC:secp256k1', '--label', keyLabel, '--id', id]);
      const info = { label: keyLabel, id: id.toLowerCase() };
      keys.push(info);
      return info;
    },
    async deleteKey(keyLabel) {
      for (const type of ['privkey', 'pubkey']) await tool(['--delete-object', '--type', type, '--label', keyLabel]);
      const i = keys.findIndex((k) => k.label === keyLabel);
      if (i >= 0) keys.splice(i, 1);
    },
    cleanup() {
      if (!shared) return rmSync(dir, { recursive: true, force: true });
      // Under the creations' lock: a token directory vanishing mid-scan fails another --init-token.
      withFileLockSync(`${conf}.lock`, () => {
        try {
          execFileSync('softhsm2-util', ['--delete-token', '--token', label], { env: childEnv, stdio: 'ignore' });
        } catch {
          // already gone
        }
      });
    },
  };

  const labels = Array.isArray(options.keys) ? options.keys : Array.from({ length: options.keys ?? 0 }, (_, i) => `key-${i + 1}`);
  try {
    for (const keyLabel of labels) await token.addKey(keyLabel);
  } catch (error) {
    token.cleanup();
    throw error;
  }
  return token;
}
