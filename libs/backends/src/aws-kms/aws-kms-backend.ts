/**
 * AWS KMS connector (`@aws-sdk/client-kms`): ECC_SECG_P256K1 SIGN_VERIFY keys, `Sign` with
 * MessageType DIGEST and ECDSA_SHA_256, DER signature returned for signer-service's post-processing
 * (DER → r,s, low-s, recovery id). Wire facts: research/backend-apis.md §D.
 *  - keys found by alias prefix (ListAliases) or all keys (ListKeys), optionally filtered by tag
 *    (ListResourceTags), kept when DescribeKey says Enabled + ECC_SECG_P256K1 + SIGN_VERIFY (§D.2)
 *  - public keys cached per key id for the life of the process: GetPublicKey is limited to 5/s and
 *    a key id's key material never changes (§D.3)
 *  - credentials from the standard AWS chain unless given; ThrottlingException retried by the SDK with
 *    backoff (standard mode; 'adaptive' adds client-side rate limiting); still throttled after the
 *    last attempt → a signing error that leaves the backend up
 * keyId = the KMS key id (UUID).
 */
import {
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  SignCommand,
  type KeyMetadata,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import type { BackendCapabilities } from '@hsm-signer/contracts';
import { parsePublicKey, publicKeyToAddress } from '@hsm-signer/ethereum';
import { firstLine, isTransportError, mapLimit, redact, transportReason } from '../cloud';
import { BackendSigningError, BackendUnavailableError, InvalidDigestError, KeyNotFoundError } from '../errors';
import { noopLogger, type BackendHealth, type BackendKeyInfo, type BackendLogger, type SigningBackend } from '../types';

type KmsCredentials = NonNullable<KMSClientConfig['credentials']>;

export interface AwsKmsKeySelector {
  /** Only keys with an alias starting with this (with or without the `alias/` prefix). */
  aliasPrefix?: string;
  /** Only keys carrying this tag: `key` (any value) or `key=value`. */
  tag?: string;
}

export interface AwsKmsBackendOptions {
  id: string;
  region: string;
  /** Endpoint override (VPC endpoint, FIPS endpoint, or a local fixture). */
  endpoint?: string;
  /** Static credentials or a provider; default: the standard AWS credential chain. */
  credentials?: KmsCredentials;
  selector?: AwsKmsKeySelector;
  /** SDK attempts per call, throttling retries included (default 5). */
  maxAttempts?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * SDK retry mode (default 'standard': exponential backoff with jitter, longer base delay for
   * ThrottlingException). 'adaptive' adds client-side rate limiting after throttling.
   */
  retryMode?: 'standard' | 'adaptive';
  logger?: BackendLogger;
}

interface AwsErrorLike {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}


/** Errors that mean the credentials or the identity are refused: the backend is unusable as configured. */
const AUTH_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);

export class AwsKmsBackend implements SigningBackend {
  readonly kind = 'aws-kms';
  readonly capabilities: BackendCapabilities = { signs: 'digest', transactionTypes: [0, 1, 2] };
  readonly id: string;
  private readonly region: string;
  private readonly endpoint?: string;
  readonly #credentials?: KmsCredentials;
  private readonly selector: AwsKmsKeySelector;
  private readonly maxAttempts: number;
  private readonly timeout: number;
  private readonly retryMode: 'standard' | 'adaptive';
  private readonly logger: BackendLogger;
  private client?: KMSClient;
  /** keyId → key info; survives reconnects (public keys never change for a key id). */
  private readonly publicKeys = new Map<string, BackendKeyInfo>();
  private listed = new Set<string>();

  constructor(options: AwsKmsBackendOptions) {
    this.id = options.id;
    this.region = options.region;
    this.endpoint = options.endpoint;
    this.#credentials = options.credentials;
    this.selector = options.selector ?? {};
    this.maxAttempts = options.maxAttempts ?? 5;
    this.timeout = options.requestTimeoutMs ?? 10_000;
    this.retryMode = options.retryMode ?? 'standard';
    this.logger = options.logger ?? noopLogger;
  }

  async connect(): Promise<void> {
    if (this.client) return;
    const client = new KMSClient({
      region: this.region,
      endpoint: this.endpoint,
      credentials: this.#credentials,
      maxAttempts: this.maxAttempts,
      retryMode: this.retryMode,
      requestHandler: { requestTimeout: this.timeout, connectionTimeout: Math.min(this.timeout, 5_000) },
    });
    try {
      await client.send(new ListKeysCommand({ Limit: 1 }));
    } catch (error) {
      client.destroy();
      throw this.unavailable(`cannot reach AWS KMS in ${this.region}${this.endpoint ? ` at ${this.endpoint}` : ''}`, error);
    }
    this.client = client;
    this.logger.info({ backendId: this.id, region: this.region }, 'AWS KMS connected');
  }

  private connection(): KMSClient {
    if (!this.client) throw new BackendUnavailableError(this.id, 'not connected');
    return this.client;
  }

  async listKeys(): Promise<BackendKeyInfo[]> {
    const client = this.connection();
    let candidates: Array<{ keyId: string; alias?: string }>;
    try {
      candidates = this.selector.aliasPrefix ? await this.byAlias(client, this.selector.aliasPrefix) : await this.allKeys(client);
    } catch (error) {
      throw this.failure('listing keys failed', error);
    }
    const found = await mapLimit(candidates, 4, async ({ keyId, alias }) => {
      try {
        if (this.selector.tag && !(await this.hasTag(client, keyId, this.selector.tag))) return undefined;
        return await this.load(client, keyId, alias);
      } catch (error) {
        if ((error as AwsErrorLike).name === 'NotFoundException') return undefined; // deleted meanwhile
        throw this.failure(`reading key ${keyId} failed`, error);
      }
    });
    const keys = found.filter((k): k is BackendKeyInfo => k !== undefined);
    this.listed = new Set(keys.map((k) => k.keyId));
    return keys;
  }

  private async byAlias(client: KMSClient, prefix: string): Promise<Array<{ keyId: string; alias: string }>> {
    const wanted = prefix.startsWith('alias/') ? prefix : `alias/${prefix}`;
    const out = new Map<string, string>();
    let marker: string | undefined;
    do {
      const page = await client.send(new ListAliasesCommand({ Limit: 100, Marker: marker }));
      for (const a of page.Aliases ?? []) {
        if (a.AliasName?.startsWith(wanted) && a.TargetKeyId && !out.has(a.TargetKeyId)) out.set(a.TargetKeyId, a.AliasName);
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    return [...out].map(([keyId, alias]) => ({ keyId, alias }));
  }

  private async allKeys(client: KMSClient): Promise<Array<{ keyId: string }>> {
    const out: Array<{ keyId: string }> = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListKeysCommand({ Limit: 100, Marker: marker }));
      for (const k of page.Keys ?? []) if (k.KeyId) out.push({ keyId: k.KeyId });
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    return out;
  }

  private async hasTag(client: KMSClient, keyId: string, tag: string): Promise<boolean> {
    const [name, ...rest] = tag.split('=');
    const value = rest.length ? rest.join('=') : undefined;
    const res = await client.send(new ListResourceTagsCommand({ KeyId: keyId }));
    return (res.Tags ?? []).some((t) => t.TagKey === name && (value === undefined || t.TagValue === value));
  }

  /** DescribeKey (state can change) + cached GetPublicKey. undefined = not a usable signing key. */
  private async load(client: KMSClient, keyId: string, alias?: string): Promise<BackendKeyInfo | undefined> {
    const meta = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    const id = usableKeyId(meta);
    if (!id) {
      this.logger.debug({ backendId: this.id, keyId, state: meta?.KeyState, spec: meta?.KeySpec }, 'KMS key skipped');
      return undefined;
    }
    const cached = this.publicKeys.get(id);
    if (cached) return alias && cached.label !== alias ? { ...cached, label: alias } : cached;
    const res = await client.send(new GetPublicKeyCommand({ KeyId: id }));
    if (!res.PublicKey) return undefined;
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKey(res.PublicKey);
    } catch (error) {
      this.logger.warn({ backendId: this.id, keyId: id, err: (error as Error).message }, 'KMS key skipped: unreadable public key');
      return undefined;
    }
    const info: BackendKeyInfo = { keyId: id, address: publicKeyToAddress(publicKey), publicKey, ...(alias ? { label: alias } : {}) };
    this.publicKeys.set(id, info);
    return info;
  }

  async getKey(keyId: string): Promise<BackendKeyInfo | undefined> {
    const cached = this.publicKeys.get(keyId);
    if (cached && this.listed.has(keyId)) return cached;
    const client = this.connection();
    try {
      const info = await this.load(client, keyId);
      if (info) this.listed.add(info.keyId);
      return info;
    } catch (error) {
      if ((error as AwsErrorLike).name === 'NotFoundException') return undefined;
      throw this.failure(`reading key ${keyId} failed`, error);
    }
  }

  async signDigest(keyId: string, digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new InvalidDigestError(this.id, digest.length);
    const client = this.connection();
    try {
      const res = await client.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!res.Signature?.length) throw new BackendSigningError(this.id, 'AWS KMS returned no signature');
      return res.Signature;
    } catch (error) {
      if (error instanceof BackendSigningError) throw error;
      const name = (error as AwsErrorLike).name;
      if (name === 'NotFoundException') {
        this.listed.delete(keyId);
        throw new KeyNotFoundError(this.id, keyId);
      }
      if (name === 'DisabledException' || name === 'KMSInvalidStateException') {
        this.listed.delete(keyId);
        throw new BackendSigningError(this.id, `key ${keyId} cannot sign now (${name}: ${firstLine((error as Error).message)})`);
      }
      throw this.failure(`signing with ${keyId} failed`, error);
    }
  }

  async health(): Promise<BackendHealth> {
    if (!this.client) return { healthy: false, reason: 'not connected' };
    try {
      await this.client.send(new ListKeysCommand({ Limit: 1 }));
      return { healthy: true, keyCount: this.listed.size };
    } catch (error) {
      return { healthy: false, reason: this.reason(`AWS KMS ${this.region}`, error), keyCount: this.listed.size };
    }
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  // --- errors -----------------------------------------------------------------------------------

  private secrets(): string[] {
    const c = this.#credentials;
    if (c && typeof c !== 'function') return [c.secretAccessKey, c.sessionToken ?? ''];
    return [];
  }

  /** Error name (the service's __type) + HTTP status + message; AWS messages never echo secrets. */
  private reason(context: string, error: unknown): string {
    const e = error as AwsErrorLike;
    const status = e.$metadata?.httpStatusCode;
    let text: string;
    if (status === undefined && isTransportError(error)) text = `${context}: ${transportReason(error)}`;
    else if (AUTH_ERRORS.has(e.name)) text = `${context}: credentials refused (${e.name}${status ? `, HTTP ${status}` : ''}): ${firstLine(e.message)}`;
    else if (e.name === 'AccessDeniedException') text = `${context}: access denied (${firstLine(e.message)}): the identity needs kms:ListKeys/ListAliases, kms:DescribeKey, kms:GetPublicKey, kms:Sign`;
    else text = `${context}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${firstLine(e.message ?? String(error))}`;
    return redact(text, this.secrets());
  }

  private unavailable(context: string, error: unknown): BackendUnavailableError {
    return new BackendUnavailableError(this.id, this.reason(context, error));
  }

  /** Unreachable, credentials refused, 5xx → unavailable; throttled after retries and other 4xx → signing error. */
  private failure(context: string, error: unknown): Error {
    if (error instanceof BackendUnavailableError) return error;
    const e = error as AwsErrorLike;
    const status = e.$metadata?.httpStatusCode;
    if (status === undefined || AUTH_ERRORS.has(e.name) || status >= 500) return this.unavailable(context, error);
    return new BackendSigningError(this.id, this.reason(context, error));
  }
}

/** The key id when the key is an enabled secp256k1 signing key (§D.2), else undefined. */
function usableKeyId(meta: KeyMetadata | undefined): string | undefined {
  return meta?.KeyId && meta.KeyState === 'Enabled' && meta.KeySpec === 'ECC_SECG_P256K1' && meta.KeyUsage === 'SIGN_VERIFY' ? meta.KeyId : undefined;
}
