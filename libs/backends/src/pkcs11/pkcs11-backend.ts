/**
 * PKCS#11 connector (AWS CloudHSM, SoftHSM2, any token with secp256k1 and CKM_ECDSA), on pkcs11js.
 * Call sequence and pitfalls: research/backend-apis.md §C.1–§C.7.
 *  - token found by label, never slot index (SoftHSM2 slot ids are random; CloudHSM has one per cluster)
 *  - R/W serial sessions (CloudHSM SDK 5 refuses read-only ones), login once per process
 *  - a pool of N sessions, one operation per session, async C_Sign on the libuv pool
 *  - CKM_ECDSA over a 32-byte digest we enforce ourselves; the token returns raw r‖s
 */
import * as pkcs11js from 'pkcs11js';
import type { BackendCapabilities } from '@hsm-signer/contracts';
import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { noopLogger, type BackendHealth, type BackendKeyInfo, type BackendLogger, type SigningBackend } from '../types';
import { acquireModule, checkLogin, ckrName, describePkcs11Error, isPkcs11Error, recordLogin, releaseLogin, releaseModule } from './module';
import { enumerateKeys, selectorOf, type TokenKey } from './objects';
import { SessionPool } from './session-pool';

export interface Pkcs11BackendOptions {
  /** Backend id (KeyRef.backendId). */
  id: string;
  /** Path of the PKCS#11 library. */
  modulePath: string;
  /** CKA token label (trailing blanks ignored). */
  tokenLabel: string;
  /** User PIN; CloudHSM: `<CU user>:<password>`. Never logged. */
  pin: string;
  /** Only keys whose CKA_LABEL starts with this. */
  keyLabelPrefix?: string;
  /** Session pool size (default 4). */
  sessions?: number;
  logger?: BackendLogger;
}

/** Return values that mean the token, session or login is gone: reconnect (the registry does it). */
const CONNECTION_LOST = new Set<number>([
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_SLOT_ID_INVALID,
]);

/** The PIN itself was refused: retrying with the same PIN only counts towards an account lock-out. */
const PIN_REJECTED = new Set<number>([pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE, pkcs11js.CKR_PIN_LOCKED, pkcs11js.CKR_PIN_EXPIRED]);

/** The object behind a cached handle is gone (deleted, or hidden after a re-login): look it up again. */
const HANDLE_STALE = new Set<number>([pkcs11js.CKR_OBJECT_HANDLE_INVALID, pkcs11js.CKR_KEY_HANDLE_INVALID]);

interface Connection {
  pkcs11: pkcs11js.PKCS11;
  slot: pkcs11js.Handle;
  pool: SessionPool<pkcs11js.Handle>;
}


export class Pkcs11Backend implements SigningBackend {
  readonly kind = 'pkcs11';
  readonly capabilities: BackendCapabilities = { signs: 'digest', transactionTypes: [0, 1, 2] };
  readonly id: string;
  private readonly modulePath: string;
  private readonly tokenLabel: string;
  readonly #pin: string;
  private readonly keyLabelPrefix?: string;
  private readonly poolSize: number;
  private readonly logger: BackendLogger;
  private conn?: Connection;
  /** keyId → key with its private handle. Rebuilt by every listKeys(); filled on demand by getKey(). */
  private cache = new Map<string, TokenKey>();

  constructor(options: Pkcs11BackendOptions) {
    if (!options.pin) throw new Error(`backend ${options.id}: a PIN is required`);
    this.id = options.id;
    this.modulePath = options.modulePath;
    this.tokenLabel = options.tokenLabel.trim();
    this.#pin = options.pin;
    this.keyLabelPrefix = options.keyLabelPrefix || undefined;
    this.poolSize = Math.max(1, options.sessions ?? 4);
    this.logger = options.logger ?? noopLogger;
  }

  async connect(): Promise<void> {
    if (this.conn) return;
    let pkcs11: pkcs11js.PKCS11;
    try {
      pkcs11 = acquireModule(this.modulePath);
    } catch (error) {
      throw new BackendUnavailableError(this.id, `cannot load or initialise PKCS#11 library ${this.modulePath}: ${describePkcs11Error(error)}`, { cause: error });
    }
    const sessions: pkcs11js.Handle[] = [];
    try {
      const slot = this.findSlot(pkcs11);
      for (let i = 0; i < this.poolSize; i++) sessions.push(pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
      this.login(pkcs11, sessions[0]);
      this.conn = { pkcs11, slot, pool: new SessionPool(sessions) };
      this.cache.clear();
      this.logger.info({ backendId: this.id, tokenLabel: this.tokenLabel, sessions: sessions.length }, 'PKCS#11 token opened');
    } catch (error) {
      for (const s of sessions) {
        try {
          pkcs11.C_CloseSession(s);
        } catch {
          // closing best effort
        }
      }
      releaseModule(this.modulePath);
      if (error instanceof BackendUnavailableError) throw error;
      throw new BackendUnavailableError(this.id, `cannot open token "${this.tokenLabel}": ${describePkcs11Error(error)}`, { cause: error });
    }
  }

  private findSlot(pkcs11: pkcs11js.PKCS11): pkcs11js.Handle {
    const labels: string[] = [];
    for (const slot of pkcs11.C_GetSlotList(true)) {
      const label = pkcs11.C_GetTokenInfo(slot).label.trim();
      if (label === this.tokenLabel) return slot;
      labels.push(label);
    }
    throw new BackendUnavailableError(this.id, `no token labelled "${this.tokenLabel}" in ${this.modulePath} (tokens present: ${labels.map((l) => `"${l}"`).join(', ') || 'none'})`);
  }

  private login(pkcs11: pkcs11js.PKCS11, session: pkcs11js.Handle): void {
    const state = checkLogin(this.modulePath, this.tokenLabel, this.#pin);
    if (state === 'different-pin') {
      throw new BackendUnavailableError(this.id, `token "${this.tokenLabel}" is already logged in by another backend of this process with a different PIN`, { retryable: false });
    }
    if (state === 'same-pin') {
      recordLogin(this.modulePath, this.tokenLabel, this.#pin);
      return;
    }
    try {
      pkcs11.C_Login(session, pkcs11js.CKU_USER, this.#pin);
      recordLogin(this.modulePath, this.tokenLabel, this.#pin);
    } catch (error) {
      // Logged in by code outside this module's bookkeeping (e.g. another copy of it in a test runner).
      if (isPkcs11Error(error) && error.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
        recordLogin(this.modulePath, this.tokenLabel, this.#pin);
        return;
      }
      // The reason is built from the return-value name only, so the PIN can never leak into it.
      const code = isPkcs11Error(error) ? error.code : undefined;
      const reason = `login to token "${this.tokenLabel}" failed${code === undefined ? '' : `: ${ckrName(code)}`}`;
      const pinProblem = code !== undefined && PIN_REJECTED.has(code);
      throw new BackendUnavailableError(this.id, pinProblem ? `${reason} (not retried: repeated failed logins can lock the account)` : reason, { retryable: !pinProblem });
    }
  }

  private connection(): Connection {
    if (!this.conn) throw new BackendUnavailableError(this.id, 'not connected');
    return this.conn;
  }

  /** Maps a PKCS#11 failure: lost connection → BackendUnavailableError (reconnect), else `fallback`. */
  private translate(error: unknown, fallback: (reason: string) => Error): Error {
    if (error instanceof BackendUnavailableError || error instanceof KeyNotFoundError) return error;
    const reason = describePkcs11Error(error);
    if (isPkcs11Error(error) && CONNECTION_LOST.has(error.code)) return new BackendUnavailableError(this.id, reason, { cause: error });
    if (error instanceof Error && error.name === 'SessionPoolClosedError') return new BackendUnavailableError(this.id, 'closing', { cause: error });
    return fallback(reason);
  }

  /**
   * Throws BackendUnavailableError when the token is gone. Without this, a deleted or removed token
   * would simply list no keys, and key-discovery would retire every account instead of marking them
   * stale (SoftHSM2 answers C_FindObjects on a deleted token with an empty list).
   */
  private probeToken(conn: Connection): void {
    try {
      conn.pkcs11.C_GetTokenInfo(conn.slot);
    } catch (error) {
      throw new BackendUnavailableError(this.id, `token "${this.tokenLabel}": ${describePkcs11Error(error)}`, { cause: error });
    }
  }

  async listKeys(): Promise<BackendKeyInfo[]> {
    const conn = this.connection();
    const { pkcs11, pool } = conn;
    this.probeToken(conn);
    let result;
    try {
      result = await pool.use((session) => enumerateKeys(pkcs11, session, this.keyLabelPrefix));
    } catch (error) {
      throw this.translate(error, (reason) => new BackendUnavailableError(this.id, `listing keys failed: ${reason}`, { cause: error }));
    }
    for (const skip of result.skipped) this.logger.debug({ backendId: this.id, ...skip }, 'PKCS#11 key skipped');
    this.cache = new Map(result.keys.map((k) => [k.keyId, k]));
    return result.keys.map(toInfo);
  }

  async getKey(keyId: string): Promise<BackendKeyInfo | undefined> {
    const key = await this.findKey(keyId);
    return key && toInfo(key);
  }

  private async findKey(keyId: string, refresh = false): Promise<TokenKey | undefined> {
    const cached = refresh ? undefined : this.cache.get(keyId);
    if (cached) return cached;
    const selector = selectorOf(keyId);
    if (!selector) return undefined;
    const { pkcs11, pool } = this.connection();
    let found: TokenKey | undefined;
    try {
      found = await pool.use((session) => enumerateKeys(pkcs11, session, this.keyLabelPrefix, selector).keys.find((k) => k.keyId === keyId));
    } catch (error) {
      throw this.translate(error, (reason) => new BackendUnavailableError(this.id, `key lookup failed: ${reason}`, { cause: error }));
    }
    if (found) this.cache.set(keyId, found);
    else this.cache.delete(keyId);
    return found;
  }

  async signDigest(keyId: string, digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new InvalidDigestError(this.id, digest.length);
    const data = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
    let key = await this.findKey(keyId);
    if (!key) throw new KeyNotFoundError(this.id, keyId);
    try {
      return await this.signWith(key.privateHandle, data);
    } catch (error) {
      if (!(isPkcs11Error(error) && HANDLE_STALE.has(error.code))) throw this.signError(error);
      // The cached handle is gone (key deleted, or re-created by another process): look again, once.
      key = await this.findKey(keyId, true);
      if (!key) throw new KeyNotFoundError(this.id, keyId);
      try {
        return await this.signWith(key.privateHandle, data);
      } catch (retryError) {
        throw this.signError(retryError);
      }
    }
  }

  private signError(error: unknown): Error {
    return this.translate(error, (reason) => new BackendSigningError(this.id, `PKCS#11 signing failed: ${reason}`, { cause: error }));
  }

  /**
   * Exactly two PKCS#11 calls per signature, nothing looked up (handles are cached): C_SignInit on
   * the event loop (SoftHSM2: ~40 µs, it re-reads the token's generation file and the key's object
   * file, whatever the number of keys) and C_Sign on libuv's pool (SoftHSM2: ~340 µs of OpenSSL
   * ECDSA). Measured in bench/sign-softhsm.ts; docs/pkcs11.md "What a signature costs".
   */
  private async signWith(handle: pkcs11js.Handle, digest: Buffer): Promise<Uint8Array> {
    const { pkcs11, pool } = this.connection();
    const signature = await pool.use(async (session) => {
      pkcs11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, handle);
      return pkcs11.C_SignAsync(session, digest, Buffer.alloc(64));
    });
    return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength);
  }

  async health(): Promise<BackendHealth> {
    if (!this.conn) return { healthy: false, reason: 'not connected' };
    try {
      // Cheap probe that fails when the token is removed or the library lost its HSM connection.
      this.probeToken(this.conn);
      return { healthy: true, keyCount: this.cache.size };
    } catch (error) {
      return { healthy: false, reason: (error as BackendUnavailableError).reason, keyCount: this.cache.size };
    }
  }

  async close(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    this.cache.clear();
    await conn.pool.close();
    // No C_Logout: login state is per process and token, shared with any other connector on it;
    // closing an application's last session on the token logs it out (PKCS#11 §5.6).
    for (const s of conn.pool.sessions) {
      try {
        conn.pkcs11.C_CloseSession(s);
      } catch {
        // already closed
      }
    }
    releaseLogin(this.modulePath, this.tokenLabel);
    releaseModule(this.modulePath);
    this.logger.info({ backendId: this.id }, 'PKCS#11 token closed');
  }
}

function toInfo(key: TokenKey): BackendKeyInfo {
  return { keyId: key.keyId, address: key.address, label: key.label, publicKey: key.publicKey };
}
