/**
 * The native libsecp256k1 binding (npm `secp256k1`). Its index.js silently falls back to elliptic.js
 * when the native addon fails to load, and JS recovery costs ~1.5 ms instead of ~53 µs
 * (research/style-and-performance.md §2.1), so we load the binding ourselves and say loudly which
 * implementation is in use.
 */
import type * as Secp256k1 from 'secp256k1';

export interface Secp256k1Implementation {
  /** true when the prebuilt/compiled libsecp256k1 addon is in use. */
  native: boolean;
  /** Why the native addon did not load (only when native is false). */
  loadError?: string;
}

type Secp256k1Api = typeof Secp256k1;

let api: Secp256k1Api | undefined;
let implementation: Secp256k1Implementation = { native: false, loadError: 'not loaded yet' };

function load(): Secp256k1Api {
  if (api) return api;
  try {
    api = require('secp256k1/bindings') as Secp256k1Api;
    implementation = { native: true };
  } catch (error) {
    api = require('secp256k1/elliptic') as Secp256k1Api;
    implementation = { native: false, loadError: error instanceof Error ? error.message : String(error) };
    process.emitWarning(
      `native secp256k1 binding failed to load (${implementation.loadError}); falling back to elliptic.js — signing will be ~30x slower`,
      { code: 'HSM_SECP256K1_JS_FALLBACK' },
    );
  }
  return api;
}

/** The secp256k1 implementation used for recovery. */
export function secp256k1(): Secp256k1Api {
  return api ?? load();
}

/** Which implementation is loaded (loads it if needed). Services log this at start-up. */
export function secp256k1Implementation(): Secp256k1Implementation {
  load();
  return implementation;
}
