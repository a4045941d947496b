import type { IncomingMessage } from 'node:http';
import type { StoredAbi, StoredContract } from '@hsm-signer/persistence';
import { buildSwagger, renderExerciser, type SolidityDevdoc } from '../openapi';
import { RestError, RestErrorCode } from '../errors';
import type { ParamPrefixes } from '../http/special-params';
import type { HttpAnswer } from '../dispatch/transaction-dispatcher';
import { baseUrlOf } from './respond';
import { parseAddressSegment } from './tx-params';

export interface RegistryStore {
  getAbi(id: string): Promise<StoredAbi | undefined>;
  listAbis(): Promise<StoredAbi[]>;
  getContract(addressOrName: string): Promise<StoredContract | undefined>;
  listContracts(): Promise<StoredContract[]>;
  registerContract(input: { address: string; abiId: string; registeredAs?: string | null }): Promise<StoredContract>;
}

const ABI_CACHE_SIZE = 1_000;
const CONTRACT_CACHE_MS = 5_000;

/** ABIInfo (FE contractregistry/contractstore.go:94-104, research/rest-gateway.md §2.2). */
export function abiInfo(abi: StoredAbi, baseUrl: string): Record<string, unknown> {
  return {
    created: abi.createdAt.toISOString(),
    id: abi.id,
    name: abi.name,
    description: abi.description,
    path: `/abis/${abi.id}`,
    deployable: abi.deployable,
    openapi: `${baseUrl}/abis/${abi.id}?swagger`,
    compilerVersion: abi.compilerVersion ?? '',
  };
}

/** ContractInfo (FE contractstore.go:84-92): address lowercase without 0x, path by friendly name when there is one. */
export function contractInfo(contract: StoredContract, baseUrl: string): Record<string, unknown> {
  const bare = contract.address.replace(/^0x/, '');
  const pathName = contract.registeredAs ? encodeURIComponent(contract.registeredAs) : bare;
  return {
    created: contract.createdAt.toISOString(),
    address: bare,
    path: `/contracts/${pathName}`,
    abi: contract.abiId,
    openapi: `${baseUrl}/contracts/${pathName}?swagger`,
    registeredAs: contract.registeredAs ?? '',
  };
}

/** The stored devdoc (solc's JSON, as a string); anything unreadable counts as none. */
function parseDevdoc(devdoc: string | null): SolidityDevdoc | undefined {
  if (!devdoc) return undefined;
  try {
    const value: unknown = JSON.parse(devdoc);
    return typeof value === 'object' && value !== null ? (value as SolidityDevdoc) : undefined;
  } catch {
    return undefined;
  }
}

/** The un-prefixed flags of GET /abis/{id} and /contracts/{x} (FE smartcontractgw.go:600-662). */
function flags(search: URLSearchParams) {
  const has = (name: string) => [...search.keys()].some((k) => k.toLowerCase() === name);
  const value = (name: string) => [...search.entries()].find(([k]) => k.toLowerCase() === name)?.[1];
  return { has, value };
}

/**
 * ABIs and contract instances: listings, info, raw ABI, generated Swagger and the API exerciser.
 */
export class Registry {
  /** ABIs never change once stored (a new upload gets a new id): kept, up to {@link ABI_CACHE_SIZE}. */
  private readonly abis = new Map<string, StoredAbi>();
  /** Contract lookups by address or name, for {@link CONTRACT_CACHE_MS} (another replica's re-registration shows after that). */
  private readonly contracts = new Map<string, { contract: StoredContract; at: number }>();

  constructor(
    private readonly store: RegistryStore,
    private readonly options: { baseUrl: string; prefixes: ParamPrefixes },
  ) {}

  /**
   * An ABI by id. Every method call and transaction needs its ABI (with the bytecode) and its
   * contract: two Postgres reads per request before these caches (rest-storm bench).
   */
  async abiOrThrow(id: string): Promise<StoredAbi> {
    const cached = this.abis.get(id);
    if (cached) return cached;
    const abi = await this.store.getAbi(id);
    if (abi) {
      if (this.abis.size >= ABI_CACHE_SIZE) this.abis.delete(this.abis.keys().next().value as string);
      this.abis.set(id, abi);
    }
    if (!abi) throw new RestError(404, RestErrorCode.AbiNotFound, `No ABI with id '${id}' (GET /abis lists the uploaded ones)`);
    return abi;
  }

  /** A contract by address (any case, 0x optional) or friendly name, with its ABI. */
  async contractOrThrow(addressOrName: string): Promise<{ contract: StoredContract; abi: StoredAbi }> {
    const contract = await this.cachedContract(addressOrName);
    if (!contract) {
      const looksLikeAddress = /^(0x)?[0-9a-fA-F]{40}$/.test(addressOrName);
      throw looksLikeAddress
        ? new RestError(404, RestErrorCode.ContractAddressNotFound, `No contract registered at address '${addressOrName}' (register it with POST /abis/<abi id>/${addressOrName})`)
        : new RestError(404, RestErrorCode.ContractNameNotFound, `No contract registered with the name '${addressOrName}' (GET /contracts lists them)`);
    }
    const abi = await this.abiOrThrow(contract.abiId).catch(() => {
      throw new RestError(500, RestErrorCode.Internal, `Contract ${contract.address} names ABI ${contract.abiId}, which is gone`);
    });
    return { contract, abi };
  }

  private async cachedContract(addressOrName: string): Promise<StoredContract | undefined> {
    const key = /^(0x)?[0-9a-fA-F]{40}$/.test(addressOrName) ? `a:${addressOrName.replace(/^0x/i, '').toLowerCase()}` : `n:${addressOrName}`;
    const now = Date.now();
    const hit = this.contracts.get(key);
    if (hit && now - hit.at < CONTRACT_CACHE_MS) return hit.contract;
    const contract = await this.store.getContract(addressOrName);
    if (contract) {
      if (this.contracts.size >= ABI_CACHE_SIZE) this.contracts.delete(this.contracts.keys().next().value as string);
      this.contracts.set(key, { contract, at: now });
    } else this.contracts.delete(key);
    return contract;
  }

  async listAbis(req: IncomingMessage): Promise<HttpAnswer> {
    const base = baseUrlOf(req, this.options.baseUrl);
    return { status: 200, body: (await this.store.listAbis()).map((a) => abiInfo(a, base)) };
  }

  async listContracts(req: IncomingMessage): Promise<HttpAnswer> {
    const base = baseUrlOf(req, this.options.baseUrl);
    return { status: 200, body: (await this.store.listContracts()).map((c) => contractInfo(c, base)) };
  }

  async getAbi(req: IncomingMessage, id: string): Promise<HttpAnswer & { headers?: Record<string, string>; html?: string }> {
    const abi = await this.abiOrThrow(id);
    const base = baseUrlOf(req, this.options.baseUrl);
    return this.describe(req, { abi, base, basePath: `/abis/${abi.id}`, kind: 'abi', title: abi.name || abi.id, info: abiInfo(abi, base) });
  }

  async getContract(req: IncomingMessage, addressOrName: string): Promise<HttpAnswer & { headers?: Record<string, string>; html?: string }> {
    const { contract, abi } = await this.contractOrThrow(addressOrName);
    const base = baseUrlOf(req, this.options.baseUrl);
    const info = contractInfo(contract, base);
    return this.describe(req, { abi, base, basePath: info['path'] as string, kind: 'contract', title: abi.name || contract.address, info, contract });
  }

  /** POST /abis/{abi}/{address}: registers an existing instance; 201 ContractInfo; 409 when the name is taken (FE smartcontractgw.go:808-846). */
  async register(req: IncomingMessage, abiId: string, addressSegment: string, registerAs: string | undefined): Promise<HttpAnswer> {
    const address = parseAddressSegment(addressSegment);
    await this.abiOrThrow(abiId);
    try {
      const contract = await this.store.registerContract({ address, abiId, registeredAs: registerAs ?? null });
      this.contracts.clear(); // this replica sees its own registration at once
      return { status: 201, body: contractInfo(contract, baseUrlOf(req, this.options.baseUrl)) };
    } catch (error) {
      if ((error as Error).name === 'ContractNameTakenError') {
        throw new RestError(409, RestErrorCode.NameConflict, `Contract address ${(error as { address?: string }).address ?? ''} is already registered for name '${registerAs}'`, { cause: error });
      }
      throw error;
    }
  }

  private describe(
    req: IncomingMessage,
    d: { abi: StoredAbi; base: string; basePath: string; kind: 'abi' | 'contract'; title: string; info: Record<string, unknown>; contract?: StoredContract },
  ): HttpAnswer & { headers?: Record<string, string>; html?: string } {
    const search = new URL(req.url ?? '/', 'http://gateway').searchParams;
    const f = flags(search);
    if (f.has('swagger') || f.has('openapi')) {
      const base = new URL(d.base);
      const schemes = f.value('schemes')?.split(',').map((s) => s.trim()).filter(Boolean) ?? [base.protocol.replace(':', '')];
      const doc = buildSwagger({
        abi: d.abi.abi,
        kind: d.kind,
        title: d.title,
        description: d.abi.description || undefined,
        devdoc: parseDevdoc(d.abi.devdoc),
        host: base.host,
        basePath: `${base.pathname.replace(/\/+$/, '')}${d.basePath}`,
        schemes,
        noauth: f.has('noauth'),
        factoryOnly: f.has('factory'),
        defaultFrom: f.value('from'),
        prefix: this.options.prefixes,
        deployable: d.abi.deployable,
        deploymentId: d.kind === 'contract' ? d.abi.id : undefined,
        registeredName: d.contract?.registeredAs ?? undefined,
      });
      const headers: Record<string, string> = f.has('download') ? { 'content-disposition': `attachment; filename="${d.kind === 'abi' ? d.abi.id : (d.contract?.registeredAs ?? d.contract?.address)}.swagger.json"` } : {};
      return { status: 200, body: doc, headers };
    }
    if (f.has('ui')) {
      // Paths under the public base URL's own path: behind a proxy at /api the page must load /api/….
      const prefix = new URL(d.base).pathname.replace(/\/+$/, '');
      return { status: 200, body: undefined, html: renderExerciser({ title: d.title, swaggerUrl: `${prefix}${d.basePath}?swagger`, assetsPath: `${prefix}/api-exerciser/assets` }) };
    }
    if (f.has('abi')) return { status: 200, body: d.abi.abi };
    return { status: 200, body: d.info };
  }
}
