/**
 * Azure Key Vault connector (`@azure/keyvault-keys`): EC / EC-HSM keys on curve P-256K, ES256K
 * over the 32-byte digest, raw 64-byte r‖s returned for signer-service's post-processing (low-s,
 * recovery id). Wire facts: research/backend-apis.md §B.
 *  - keys selected by tag and/or name prefix, listed across pages (§B.3, §B.6)
 *  - the current version of each key, or the newest enabled version when the current one is disabled
 *  - one CryptographyClient per key version, built from the KeyVaultKey object, so neither the extra
 *    GET nor the unauthenticated challenge round trip repeats per signature (§B.6)
 *  - 429 + Retry-After is honoured by the SDK's retry policy (§B.6, §B.7); transport failures make
 *    the backend unavailable so the registry reconnects with backoff
 * keyId = `<key name>/<version>`: one key material, one address, even after the key is rotated.
 */
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import type { TokenCredential } from '@azure/identity';
import type { BackendCapabilities } from '@hsm-signer/contracts';
import { parsePublicKey, publicKeyToAddress } from '@hsm-signer/ethereum';
import { firstLine, isTransportError, mapLimit, redact, transportReason } from '../cloud';
import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { noopLogger, type BackendHealth, type BackendKeyInfo, type BackendLogger, type SigningBackend } from '../types';

export interface AzureKeySelector {
  /** Only keys carrying this tag: `name` (any value) or `name=value`. */
  tag?: string;
  /** Only keys whose name starts with this. */
  namePrefix?: string;
}

export interface AzureKeyVaultBackendOptions {
  id: string;
  /** https://<vault>.vault.azure.net or https://<name>.managedhsm.azure.net */
  vaultUrl: string;
  credential: TokenCredential;
  selector?: AzureKeySelector;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** SDK retries for transport errors, 5xx and 429 (default 3; 429 waits for Retry-After). */
  maxRetries?: number;
  /** Local fixtures only: plain-http vault URL and a challenge resource that is not *.vault.azure.net. */
  allowInsecureConnection?: boolean;
  disableChallengeResourceVerification?: boolean;
  /** Strings that must never appear in a reason (the client secret, …). */
  secrets?: string[];
  logger?: BackendLogger;
}

interface CachedKey {
  info: BackendKeyInfo;
  crypto: CryptographyClient;
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
  details?: { error?: { innererror?: { code?: string } } };
}


export class AzureKeyVaultBackend implements SigningBackend {
  readonly kind = 'azure-keyvault';
  readonly capabilities: BackendCapabilities = { signs: 'digest', transactionTypes: [0, 1, 2] };
  readonly id: string;
  private readonly vaultUrl: string;
  readonly #credential: TokenCredential;
  private readonly selector: AzureKeySelector;
  private readonly timeout: number;
  private readonly clientOptions: ConstructorParameters<typeof KeyClient>[2];
  readonly #secrets: string[];
  private readonly logger: BackendLogger;
  private client?: KeyClient;
  private cache = new Map<string, CachedKey>();
  /**
   * name → what the last listing resolved, keyed by the list item's `updated` time: an unchanged key
   * costs no GET on the next listing (key-discovery polls; the vault allows 2,000 requests / 10 s, §B.7).
   */
  private resolved = new Map<string, { updated: string; key: CachedKey | undefined }>();

  constructor(options: AzureKeyVaultBackendOptions) {
    this.id = options.id;
    this.vaultUrl = options.vaultUrl.replace(/\/+$/, '');
    this.#credential = options.credential;
    this.selector = options.selector ?? {};
    this.timeout = options.requestTimeoutMs ?? 10_000;
    this.#secrets = (options.secrets ?? []).filter(Boolean);
    this.logger = options.logger ?? noopLogger;
    this.clientOptions = {
      allowInsecureConnection: options.allowInsecureConnection,
      disableChallengeResourceVerification: options.disableChallengeResourceVerification,
      retryOptions: { maxRetries: options.maxRetries ?? 3, retryDelayInMs: 250, maxRetryDelayInMs: 4_000 },
    };
  }

  async connect(): Promise<void> {
    if (this.client) return;
    const client = new KeyClient(this.vaultUrl, this.#credential, this.clientOptions);
    // Probe: one page of the key list proves the URL, the credential and the list permission.
    try {
      await client.listPropertiesOfKeys({ requestOptions: { timeout: this.timeout } }).byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      throw this.unavailable(`cannot reach key vault ${this.vaultUrl}`, error);
    }
    this.client = client;
    this.cache.clear();
    this.logger.info({ backendId: this.id, vaultUrl: this.vaultUrl }, 'Azure Key Vault connected');
  }

  private connection(): KeyClient {
    if (!this.client) throw new BackendUnavailableError(this.id, 'not connected');
    return this.client;
  }

  async listKeys(): Promise<BackendKeyInfo[]> {
    const client = this.connection();
    const listed: Array<{ name: string; updated: string }> = [];
    try {
      for await (const props of client.listPropertiesOfKeys({ requestOptions: { timeout: this.timeout } })) {
        if (this.selected(props.name, props.tags)) listed.push({ name: props.name, updated: props.updatedOn ? `${props.updatedOn.getTime()}:${props.enabled}` : '' });
      }
    } catch (error) {
      throw this.failure('listing keys failed', error);
    }
    const resolved = new Map<string, { updated: string; key: CachedKey | undefined }>();
    const found = await mapLimit(listed, 8, async ({ name, updated }) => {
      const previous = this.resolved.get(name);
      const key = previous && updated !== '' && previous.updated === updated ? previous.key : await this.loadCurrent(client, name);
      resolved.set(name, { updated, key });
      return key;
    });
    this.resolved = resolved;
    const keys = found.filter((k): k is CachedKey => k !== undefined);
    this.cache = new Map(keys.map((k) => [k.info.keyId, k]));
    return keys.map((k) => k.info);
  }

  async getKey(keyId: string): Promise<BackendKeyInfo | undefined> {
    return (await this.find(keyId))?.info;
  }

  async signDigest(keyId: string, digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new InvalidDigestError(this.id, digest.length);
    const key = await this.find(keyId);
    if (!key) throw new KeyNotFoundError(this.id, keyId);
    try {
      const result = await key.crypto.sign('ES256K', digest, { requestOptions: { timeout: this.timeout } });
      if (result.result.length !== 64) throw new BackendSigningError(this.id, `Azure Key Vault returned a ${result.result.length}-byte signature (expected 64-byte r||s)`);
      return result.result;
    } catch (error) {
      if (error instanceof BackendSigningError) throw error;
      const e = error as RestErrorLike;
      if (e.statusCode === 404) {
        this.cache.delete(keyId);
        throw new KeyNotFoundError(this.id, keyId);
      }
      if (e.statusCode === 403 && (e.details?.error?.innererror?.code === 'KeyDisabled' || /disabled/i.test(e.message))) {
        this.cache.delete(keyId);
        throw new BackendSigningError(this.id, `key ${keyId} is disabled in Azure Key Vault`, { cause: error });
      }
      throw this.failure(`signing with ${keyId} failed`, error);
    }
  }

  async health(): Promise<BackendHealth> {
    if (!this.client) return { healthy: false, reason: 'not connected' };
    try {
      await this.client.listPropertiesOfKeys({ requestOptions: { timeout: this.timeout } }).byPage({ maxPageSize: 1 }).next();
      return { healthy: true, keyCount: this.cache.size };
    } catch (error) {
      return { healthy: false, reason: this.reason(`key vault ${this.vaultUrl}`, error), keyCount: this.cache.size };
    }
  }

  async close(): Promise<void> {
    this.client = undefined;
    this.cache.clear();
    this.resolved.clear();
  }

  // --- keys -------------------------------------------------------------------------------------

  private selected(name: string, tags: Record<string, string> | undefined): boolean {
    if (this.selector.namePrefix && !name.startsWith(this.selector.namePrefix)) return false;
    if (this.selector.tag) {
      const [tagName, ...rest] = this.selector.tag.split('=');
      const value = rest.length ? rest.join('=') : undefined;
      if (!tags || !(tagName in tags)) return false;
      if (value !== undefined && tags[tagName] !== value) return false;
    }
    return true;
  }

  private async find(keyId: string): Promise<CachedKey | undefined> {
    const cached = this.cache.get(keyId);
    if (cached) return cached;
    const client = this.connection();
    const slash = keyId.lastIndexOf('/');
    if (slash <= 0 || slash === keyId.length - 1) return undefined;
    const name = keyId.slice(0, slash);
    const version = keyId.slice(slash + 1);
    let key: KeyVaultKey;
    try {
      key = await client.getKey(name, { version, requestOptions: { timeout: this.timeout } });
    } catch (error) {
      if ((error as RestErrorLike).statusCode === 404) return undefined;
      throw this.failure(`reading key ${keyId} failed`, error);
    }
    const usable = this.usable(key);
    if (!usable || !key.properties.enabled) return undefined;
    this.cache.set(keyId, usable);
    return usable;
  }

  /** The current version of `name`, or its newest enabled version when the current one is disabled. */
  private async loadCurrent(client: KeyClient, name: string): Promise<CachedKey | undefined> {
    try {
      let key = await client.getKey(name, { requestOptions: { timeout: this.timeout } });
      if (!key.properties.enabled) {
        let newest: { version: string; created: number } | undefined;
        for await (const v of client.listPropertiesOfKeyVersions(name, { requestOptions: { timeout: this.timeout } })) {
          const created = v.createdOn?.getTime() ?? 0;
          if (v.enabled && v.version && (!newest || created >= newest.created)) newest = { version: v.version, created };
        }
        if (!newest) {
          this.logger.debug({ backendId: this.id, key: name }, 'Azure key skipped: no enabled version');
          return undefined;
        }
        key = await client.getKey(name, { version: newest.version, requestOptions: { timeout: this.timeout } });
      }
      const existing = this.cache.get(`${name}/${key.properties.version}`);
      return existing ?? this.usable(key);
    } catch (error) {
      if ((error as RestErrorLike).statusCode === 404) return undefined; // deleted between list and get
      throw this.failure(`reading key ${name} failed`, error);
    }
  }

  /** A P-256K key that may sign, with its public key and a CryptographyClient; undefined otherwise. */
  private usable(key: KeyVaultKey): CachedKey | undefined {
    const jwk = key.key;
    const skip = (why: string): undefined => {
      this.logger.debug({ backendId: this.id, key: key.name, why }, 'Azure key skipped');
      return undefined;
    };
    if (key.keyType !== 'EC' && key.keyType !== 'EC-HSM') return skip(`key type ${key.keyType}`);
    if (jwk?.crv !== 'P-256K') return skip(`curve ${jwk?.crv}`);
    if (key.keyOperations && !key.keyOperations.includes('sign')) return skip('no sign operation');
    if (!jwk.x || !jwk.y || !key.properties.version) return skip('no public key or version');
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKey(Uint8Array.from([4, ...pad32(jwk.x), ...pad32(jwk.y)]));
    } catch (error) {
      return skip(`invalid public key: ${(error as Error).message}`);
    }
    const info: BackendKeyInfo = { keyId: `${key.name}/${key.properties.version}`, address: publicKeyToAddress(publicKey), label: key.name, publicKey };
    return { info, crypto: new CryptographyClient(key, this.#credential, this.clientOptions) };
  }

  // --- errors -----------------------------------------------------------------------------------

  /** Human reason for a failure, with no secret: HTTP status + service error code + first line. */
  private reason(context: string, error: unknown): string {
    const e = error as RestErrorLike;
    let text: string;
    if (isTransportError(error) && e.statusCode === undefined) text = `${context}: ${transportReason(error)}`;
    else if (e.statusCode === 401) text = `${context}: authentication failed (HTTP 401${e.code ? ` ${e.code}` : ''}): check the credential`;
    else if (e.statusCode === 403) text = `${context}: access denied (HTTP 403${e.code ? ` ${e.code}` : ''}): the identity needs keys/list, keys/get and keys/sign`;
    else if (e.statusCode !== undefined) text = `${context}: HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ''}: ${firstLine(e.message)}`;
    else text = `${context}: ${firstLine(typeof e?.message === 'string' ? `${(error as Error).name}: ${e.message}` : String(error))}`;
    return redact(text, this.#secrets);
  }

  private unavailable(context: string, error: unknown): BackendUnavailableError {
    return new BackendUnavailableError(this.id, this.reason(context, error));
  }

  /**
   * Unreachable, credentials refused, 5xx → unavailable (the registry reconnects with backoff).
   * Still throttled after the SDK's Retry-After retries, or any other 4xx about this request →
   * a signing error that leaves the backend up. RestError objects are never attached as `cause`:
   * they hold the request, Authorization header included.
   */
  private failure(context: string, error: unknown): Error {
    const status = (error as RestErrorLike).statusCode;
    if (status === undefined || status === 401 || status >= 500) return this.unavailable(context, error);
    if (status === 429) return new BackendSigningError(this.id, redact(`${context}: throttled by Azure Key Vault (HTTP 429) after retries`, this.#secrets));
    return new BackendSigningError(this.id, this.reason(context, error));
  }
}

/** JWK coordinates may drop leading zero bytes (research/backend-apis.md §B.3): left-pad to 32. */
function pad32(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 32) return bytes;
  if (bytes.length > 32) throw new Error(`coordinate of ${bytes.length} bytes`);
  const out = new Uint8Array(32);
  out.set(bytes, 32 - bytes.length);
  return out;
}
