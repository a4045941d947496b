/**
 * HashiCorp Vault + Kaleido's ethsign plugin connector (`node-vault`). The plugin holds the keys
 * and signs whole legacy transactions, so keys never leave Vault (research/backend-apis.md §A):
 *  - mount path configurable; routes `<mount>/accounts` (LIST as GET ?list=1, §A.7) and
 *    `<mount>/accounts/<lowercase address>/sign` (§A.2)
 *  - token, AppRole or Kubernetes auth; a 403 with a login method logs in again once (token expired)
 *  - TLS with a CA bundle and a client certificate (mutual TLS)
 *  - legacy EIP-155 only: a typed transaction is refused with UnsupportedOperationError (§A.4)
 *  - quirks: lowercase addresses, `data` ≥ "0x", numbers as decimal strings, plugin errors as HTTP
 *    500 in go-multierror form, empty LIST = 404 (§A.3, §A.5)
 * keyId = the account's lowercase address. No public key: signer-service verifies the sender by
 * recovery from the returned transaction.
 */
import { readFileSync } from 'node:fs';
import NodeVault from 'node-vault';
import type { BackendCapabilities, UnsignedTransaction } from '@hsm-signer/contracts';
import { firstLine, isTransportError, redact, transportReason } from '../cloud';
import { BackendSigningError, BackendUnavailableError, KeyNotFoundError, UnsupportedOperationError } from '../errors';
import { noopLogger, type BackendHealth, type BackendKeyInfo, type BackendLogger, type SigningBackend } from '../types';
import { checkEthsignResult, EthsignMismatchError, EthsignUnsupportedError, toEthsignRequest, unwrapVaultError } from './ethsign-request';

export type VaultAuth =
  | { method: 'token'; token: string }
  | { method: 'approle'; roleId: string; secretId: string; /** auth mount, default `approle` */ mount?: string }
  | {
      method: 'kubernetes';
      role: string;
      /** The service-account JWT, or read from jwtPath (default /var/run/secrets/kubernetes.io/serviceaccount/token) at every login. */
      jwt?: string;
      jwtPath?: string;
      /** auth mount, default `kubernetes` */
      mount?: string;
    };

export interface VaultTlsOptions {
  /** PEM CA bundle that signed Vault's server certificate. */
  ca?: string | Buffer;
  /** PEM client certificate and key (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true. false = accept any server certificate (never in production). */
  rejectUnauthorized?: boolean;
}

export interface VaultEthsignBackendOptions {
  id: string;
  /** e.g. https://vault.example.com:8200 */
  endpoint: string;
  /** Mount path of the ethsign plugin (default `ethereum`). */
  mount?: string;
  /** Vault Enterprise namespace. */
  namespace?: string;
  auth: VaultAuth;
  tls?: VaultTlsOptions;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  logger?: BackendLogger;
}

interface VaultResponseError {
  message: string;
  response?: { statusCode?: number; body?: unknown };
}

const DEFAULT_K8S_JWT = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export class VaultEthsignBackend implements SigningBackend {
  readonly kind = 'vault-ethsign';
  readonly capabilities: BackendCapabilities = { signs: 'transaction', transactionTypes: [0] };
  readonly id: string;
  private readonly endpoint: string;
  private readonly mount: string;
  private readonly namespace?: string;
  readonly #auth: VaultAuth;
  readonly #tls?: VaultTlsOptions;
  private readonly timeout: number;
  private readonly logger: BackendLogger;
  private client?: NodeVault.client;
  private accounts = new Set<string>();

  constructor(options: VaultEthsignBackendOptions) {
    this.id = options.id;
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.mount = (options.mount ?? 'ethereum').replace(/^\/+|\/+$/g, '');
    this.namespace = options.namespace;
    this.#auth = options.auth;
    this.#tls = options.tls;
    this.timeout = options.requestTimeoutMs ?? 10_000;
    this.logger = options.logger ?? noopLogger;
  }

  async connect(): Promise<void> {
    if (this.client) return;
    const tls = this.#tls;
    const client = NodeVault({
      endpoint: this.endpoint,
      namespace: this.namespace,
      // Node's HTTP stack cannot send LIST through every proxy, and real Vault accepts GET ?list=1 (§A.7).
      noCustomHTTPVerbs: true,
      token: this.#auth.method === 'token' ? this.#auth.token : undefined,
      requestOptions: {
        timeout: this.timeout,
        ...(tls?.ca ? { ca: tls.ca } : {}),
        ...(tls?.cert ? { cert: tls.cert } : {}),
        ...(tls?.key ? { key: tls.key } : {}),
        ...(tls?.rejectUnauthorized === false ? { strictSSL: false } : {}),
      },
    });
    await this.login(client);
    try {
      await this.listWith(client);
    } catch (error) {
      throw this.unavailable(`cannot list ${this.mount}/accounts at ${this.endpoint}`, error);
    }
    this.client = client;
    this.logger.info({ backendId: this.id, endpoint: this.endpoint, mount: this.mount, auth: this.#auth.method }, 'Vault ethsign connected');
  }

  private async login(client: NodeVault.client): Promise<void> {
    const auth = this.#auth;
    if (auth.method === 'token') return;
    try {
      if (auth.method === 'approle') {
        await client.approleLogin({ mount_point: auth.mount ?? 'approle', role_id: auth.roleId, secret_id: auth.secretId });
      } else {
        const jwt = auth.jwt ?? readFileSync(auth.jwtPath ?? DEFAULT_K8S_JWT, 'utf8').trim();
        // node-vault renders the path from the call's arguments: name the mount explicitly.
        await client.kubernetesLogin({ mount_point: auth.mount ?? 'kubernetes', role: auth.role, jwt });
      }
    } catch (error) {
      throw this.unavailable(`${auth.method} login to ${this.endpoint} failed`, error);
    }
  }

  private connection(): NodeVault.client {
    if (!this.client) throw new BackendUnavailableError(this.id, 'not connected');
    return this.client;
  }

  /**
   * Runs a Vault call; a 403 with a login method means the token expired or was revoked: log in
   * again once and retry. A static token that is refused makes the backend unavailable.
   */
  private async call<T>(op: (client: NodeVault.client) => Promise<T>): Promise<T> {
    const client = this.connection();
    try {
      return await op(client);
    } catch (error) {
      if (statusOf(error) !== 403 || this.#auth.method === 'token') throw error;
      this.logger.info({ backendId: this.id }, 'Vault token refused; logging in again');
      await this.login(client);
      return op(client);
    }
  }

  private async listWith(client: NodeVault.client): Promise<string[]> {
    try {
      const res = (await client.list(`${this.mount}/accounts`)) as { data?: { keys?: unknown } };
      const keys = res.data?.keys;
      return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string').map((k) => k.toLowerCase()) : [];
    } catch (error) {
      // An empty LIST is 404 {"errors":[]} (§A.5).
      if (statusOf(error) === 404 && emptyErrors(error)) return [];
      throw error;
    }
  }

  async listKeys(): Promise<BackendKeyInfo[]> {
    let addresses: string[];
    try {
      addresses = await this.call((c) => this.listWith(c));
    } catch (error) {
      throw this.failure('listing accounts failed', error);
    }
    const valid = addresses.filter((a) => /^0x[0-9a-f]{40}$/.test(a));
    this.accounts = new Set(valid);
    return valid.map((address) => ({ keyId: address, address }));
  }

  async getKey(keyId: string): Promise<BackendKeyInfo | undefined> {
    const address = keyId.toLowerCase();
    if (!/^0x[0-9a-f]{40}$/.test(address)) return undefined;
    if (this.accounts.has(address)) return { keyId: address, address };
    try {
      const res = (await this.call((c) => c.read(`${this.mount}/accounts/${address}`))) as { data?: { address?: string } };
      if (res.data?.address?.toLowerCase() !== address) return undefined;
    } catch (error) {
      if (/Account does not exist/.test(messageOf(error))) return undefined;
      throw this.failure(`reading account ${address} failed`, error);
    }
    this.accounts.add(address);
    return { keyId: address, address };
  }

  async signTransaction(keyId: string, tx: UnsignedTransaction): Promise<string> {
    let body;
    try {
      body = toEthsignRequest(tx);
    } catch (error) {
      if (error instanceof EthsignUnsupportedError) throw new UnsupportedOperationError(this.id, error.message);
      throw error;
    }
    // Storage lookup is case-sensitive and lowercase (§A.2).
    const address = keyId.toLowerCase();
    let res: { data?: { signed_transaction?: unknown } };
    try {
      res = (await this.call((c) => c.write(`${this.mount}/accounts/${address}/sign`, body))) as typeof res;
    } catch (error) {
      if (/Signing account .* does not exist/.test(messageOf(error))) {
        this.accounts.delete(address);
        throw new KeyNotFoundError(this.id, keyId);
      }
      throw this.failure(`signing with ${address} failed`, error);
    }
    try {
      return checkEthsignResult(res.data?.signed_transaction, tx);
    } catch (error) {
      if (error instanceof EthsignMismatchError) throw new BackendSigningError(this.id, error.message);
      throw error;
    }
  }

  async health(): Promise<BackendHealth> {
    if (!this.client) return { healthy: false, reason: 'not connected' };
    try {
      await this.call((c) => this.listWith(c));
      return { healthy: true, keyCount: this.accounts.size };
    } catch (error) {
      return { healthy: false, reason: this.reason(`Vault ${this.endpoint}`, error), keyCount: this.accounts.size };
    }
  }

  async close(): Promise<void> {
    this.client = undefined;
    this.accounts.clear();
  }

  // --- errors -----------------------------------------------------------------------------------

  private secrets(): string[] {
    const a = this.#auth;
    if (a.method === 'token') return [a.token];
    if (a.method === 'approle') return [a.secretId];
    return a.jwt ? [a.jwt] : [];
  }

  /**
   * Status + Vault's own message (it never echoes credentials) or the transport failure. The
   * node-vault / axios error is never attached as `cause`: it carries the request headers, the
   * X-Vault-Token among them.
   */
  private reason(context: string, error: unknown): string {
    const status = statusOf(error);
    let text: string;
    if (status === undefined) {
      text = isTransportError(error) ? `${context}: ${transportReason(error)}` : `${context}: ${firstLine(messageOf(error))}`;
    } else if (status === 403) {
      text = `${context}: permission denied (HTTP 403): the token is invalid or expired, or its policy lacks "list" on ${this.mount}/accounts and "create" on ${this.mount}/accounts/*`;
    } else {
      text = `${context}: HTTP ${status}: ${firstLine(unwrapVaultError(messageOf(error)))}`;
    }
    return redact(text, this.secrets());
  }

  private unavailable(context: string, error: unknown): BackendUnavailableError {
    return new BackendUnavailableError(this.id, this.reason(context, error));
  }

  /** Unreachable, token refused, sealed / unavailable (5xx but the plugin's 500) → unavailable; else a signing error. */
  private failure(context: string, error: unknown): Error {
    if (error instanceof BackendUnavailableError) return error;
    const status = statusOf(error);
    if (status === undefined || status === 401 || status === 403 || status > 500) return this.unavailable(context, error);
    return new BackendSigningError(this.id, this.reason(context, error));
  }
}

function statusOf(error: unknown): number | undefined {
  const s = (error as VaultResponseError | undefined)?.response?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}

function emptyErrors(error: unknown): boolean {
  const body = (error as VaultResponseError).response?.body as { errors?: unknown[] } | undefined;
  return !body || !Array.isArray(body.errors) || body.errors.length === 0;
}
