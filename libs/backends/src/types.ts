/**
 * The one connector interface every signing backend implements (issue 4 scope 1). Digest signers
 * (PKCS#11, Azure Key Vault, AWS KMS) return the raw ECDSA signature and signer-service does the
 * Ethereum post-processing; whole-transaction signers (Vault ethsign) return a signed transaction and
 * signer-service verifies its sender. Keys never leave the backend: only public keys cross this line.
 */
import type { BackendCapabilities, UnsignedTransaction } from '@hsm-signer/contracts';
import type { BackendSignature } from '@hsm-signer/ethereum';

export type { BackendCapabilities, BackendSignature };

/** One signing key as a backend reports it. */
export interface BackendKeyInfo {
  /** The backend's own reference (PKCS#11: CKA_ID hex; Azure: key name; …). Stable across restarts. */
  keyId: string;
  /** Lower-case 0x address. */
  address: string;
  /** Human label, when the backend has one. */
  label?: string;
  /** Uncompressed 65-byte public key. Required for digest signers (recovery id); absent for ethsign. */
  publicKey?: Uint8Array;
}

export interface BackendHealth {
  healthy: boolean;
  /** Why not healthy. Never contains a secret. */
  reason?: string;
  /** Keys known at the last listing. */
  keyCount?: number;
}

/** Minimal structured logger (pino-compatible). */
export interface BackendLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;
/** A logger that drops everything (the default when none is given). */
export const noopLogger: BackendLogger = { debug: noop, info: noop, warn: noop, error: noop };

export interface SigningBackend {
  /** Unique id in this deployment; KeyRef.backendId routes to it. */
  readonly id: string;
  /** Connector kind: 'pkcs11', later 'azure-keyvault', 'vault-ethsign', 'aws-kms'. */
  readonly kind: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Opens the connection / logs in. Throws BackendUnavailableError with a reason that names no secret.
   * After a failure (or close) the registry calls it again with backoff.
   */
  connect(): Promise<void>;
  /** Every usable key, enumerated fresh (keys added or deleted elsewhere show up / disappear). */
  listKeys(): Promise<BackendKeyInfo[]>;
  /** One key by id; served from a cache on the hot path, looked up when not cached. undefined = not held. */
  getKey(keyId: string): Promise<BackendKeyInfo | undefined>;
  /** capabilities.signs === 'digest': sign a 32-byte digest; returns P1363 r‖s, DER, or {r, s}. */
  signDigest?(keyId: string, digest: Uint8Array): Promise<BackendSignature>;
  /** capabilities.signs === 'transaction': sign a whole transaction; returns the 0x raw signed transaction. */
  signTransaction?(keyId: string, tx: UnsignedTransaction): Promise<string>;
  health(): Promise<BackendHealth>;
  /** Releases sessions / connections. connect() may be called again afterwards. */
  close(): Promise<void>;
}
