/**
 * Loading and initialising a PKCS#11 library, shared by every connector in the process that uses
 * the same library file: C_Initialize is process-wide (a second call fails with
 * CKR_CRYPTOKI_ALREADY_INITIALIZED) and so is login state (research/backend-apis.md §C.4, §C.7).
 */
import { createHash } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';

interface LoadedModule {
  pkcs11: pkcs11js.PKCS11;
  /** Connectors currently using it; C_Finalize when it drops to 0. */
  refs: number;
  initialized: boolean;
}

const modules = new Map<string, LoadedModule>();

/** The CKR_* name of a PKCS#11 return value (built from pkcs11js's constants, so it never echoes input). */
export function ckrName(code: number): string {
  for (const [name, value] of Object.entries(pkcs11js)) {
    if (name.startsWith('CKR_') && value === code) return name;
  }
  return `CKR_0x${code.toString(16)}`;
}

export function isPkcs11Error(error: unknown): error is pkcs11js.Pkcs11Error {
  return error instanceof pkcs11js.Pkcs11Error || (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' && 'method' in error);
}

/** "C_Login: CKR_PIN_INCORRECT" — safe to log and return: the name comes from the code, not from the message. */
export function describePkcs11Error(error: unknown): string {
  if (isPkcs11Error(error)) {
    const method = (error as { method?: string }).method;
    return `${method ? `${method}: ` : ''}${ckrName(error.code)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Loads (once) and initialises (once per use count) the library. */
export function acquireModule(path: string): pkcs11js.PKCS11 {
  let mod = modules.get(path);
  if (!mod) {
    const pkcs11 = new pkcs11js.PKCS11();
    pkcs11.load(path);
    mod = { pkcs11, refs: 0, initialized: false };
    modules.set(path, mod);
  }
  if (!mod.initialized) {
    try {
      // OS locking: async C_Sign runs on the libuv pool; without it two sessions signing at once
      // corrupted SoftHSM2's heap (research/style-and-performance.md §2.2).
      mod.pkcs11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (error) {
      // Initialised by someone else in this process (another module instance): usable as is.
      if (!(isPkcs11Error(error) && error.code === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw error;
    }
    mod.initialized = true;
  }
  mod.refs++;
  return mod.pkcs11;
}

/** Drops one use; the last one finalises the library (sessions and login state go with it). */
export function releaseModule(path: string): void {
  const mod = modules.get(path);
  if (!mod || mod.refs === 0) return;
  mod.refs--;
  if (mod.refs === 0 && mod.initialized) {
    mod.initialized = false;
    try {
      mod.pkcs11.C_Finalize();
    } catch {
      // already finalised: nothing to release
    }
  }
}

/**
 * Login state is per process and token: once one connector has logged in, C_Login on any session
 * answers CKR_USER_ALREADY_LOGGED_IN whatever PIN is given. So we remember (as a hash, in memory)
 * which PIN opened each token and refuse a second connector with a different one instead of letting
 * it ride on the first one's login.
 */
const logins = new Map<string, { pinHash: string; refs: number }>();

function loginKey(path: string, tokenLabel: string): string {
  return `${path}\u0000${tokenLabel}`;
}

function pinHash(pin: string): string {
  return createHash('sha256').update(pin).digest('hex');
}

export type LoginCheck = 'first' | 'same-pin' | 'different-pin';

/** Whether this process already holds a login on the token, and with the same PIN. */
export function checkLogin(path: string, tokenLabel: string, pin: string): LoginCheck {
  const entry = logins.get(loginKey(path, tokenLabel));
  if (!entry || entry.refs === 0) return 'first';
  return entry.pinHash === pinHash(pin) ? 'same-pin' : 'different-pin';
}

export function recordLogin(path: string, tokenLabel: string, pin: string): void {
  const key = loginKey(path, tokenLabel);
  const entry = logins.get(key);
  if (entry && entry.refs > 0) entry.refs++;
  else logins.set(key, { pinHash: pinHash(pin), refs: 1 });
}

export function releaseLogin(path: string, tokenLabel: string): void {
  const key = loginKey(path, tokenLabel);
  const entry = logins.get(key);
  if (!entry) return;
  entry.refs--;
  if (entry.refs <= 0) logins.delete(key);
}
