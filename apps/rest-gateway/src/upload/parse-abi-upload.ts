import type { IncomingMessage } from 'node:http';
import type { CreateAbiInput } from '@hsm-signer/persistence';
import { isRecord, parseAbi, parseBytecode } from './abi-fields';
import { unpackUploads } from './archives';
import { checkDeclaredLength, readBody } from './body-limit';
import { compileSolidity, listContracts } from './compile-solidity';
import { readMultipart, type MultipartForm } from './multipart';
import { UploadForm } from './upload-form';
import { invalidUpload } from './upload-errors';

/**
 * What `POST /abis` stores: the ABI record behind `/abis/{id}` (the store's own input shape):
 * bytecode `0x…` or '' when only the ABI was given (not deployable); devdoc as solc's JSON string,
 * as ethconnect keeps it.
 */
export type AbiUpload = Required<CreateAbiInput>;

export type UploadResult =
  | { kind: 'abi'; upload: AbiUpload }
  /** `findsolidity`: the .sol paths in the upload (archives unpacked), sorted. */
  | { kind: 'find-solidity'; files: string[] }
  /** `findcontracts`: `path/File.sol:Name` of every contract the sources compile to, sorted. */
  | { kind: 'find-contracts'; contracts: string[] };

export interface UploadLimits {
  /** Bytes of request body; over it the upload is refused with 413 while streaming. */
  maxBytes: number;
  /** Files in the upload, archive entries included (default 1000). */
  maxFiles?: number;
}

export const DEFAULT_MAX_UPLOAD_FILES = 1000;
/** Archives may unpack to this many times `maxBytes` in all; sources compress about 4–6×. */
const UNPACK_FACTOR = 10;

const SEND_INSTEAD = `send the contract's ABI as the form field 'abi' (JSON) with 'bytecode', or upload .sol sources`;

/**
 * Reads a `POST /abis` request (research/rest-gateway.md §2.2). ethconnect takes only
 * multipart/form-data; we also take application/json `{abi, bytecode?, name?, description?}` and the
 * artifacts compilers write (solc `{abi, evm: {bytecode: {object}}}`, hardhat `{abi, bytecode: "0x…"}`,
 * foundry `{abi, bytecode: {object}}`), since that is what most users have at hand.
 */
export async function parseAbiUpload(req: IncomingMessage, query: URLSearchParams, limits: UploadLimits): Promise<UploadResult> {
  checkDeclaredLength(req, limits.maxBytes);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'multipart/form-data') {
    const maxFiles = limits.maxFiles ?? DEFAULT_MAX_UPLOAD_FILES;
    return fromMultipart(await readMultipart(req, { maxBytes: limits.maxBytes, maxFiles }), query, { maxFiles, maxUnpackedBytes: limits.maxBytes * UNPACK_FACTOR });
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    return fromJson(await readBody(req, limits.maxBytes), new UploadForm([], query));
  }
  throw invalidUpload(
    `POST /abis takes multipart/form-data (.sol files or .zip/.tar.gz archives, or the fields 'abi' and 'bytecode') or application/json {"abi": [...], "bytecode": "0x..."}, not ${type ? `'${type}'` : 'a body without Content-Type'}: ${SEND_INSTEAD}`,
  );
}

async function fromMultipart(body: MultipartForm, query: URLSearchParams, unpackLimits: { maxFiles: number; maxUnpackedBytes: number }): Promise<UploadResult> {
  // `curl -F abi=@Token.abi.json -F bytecode=@Token.bin` sends the two as file parts; ethconnect would
  // see two stray files and no 'abi'. We read a file part named abi or bytecode as that field.
  const asField = (f: { field: string }) => f.field === 'abi' || f.field === 'bytecode';
  const fileFields = body.files.filter(asField).map((f): [string, string] => [f.field, Buffer.from(f.data).toString('utf8')]);
  const form = new UploadForm([...body.fields, ...fileFields], query);
  const files = unpackUploads(body.files.filter((f) => !asField(f)), unpackLimits);
  const solidity = [...files.keys()].filter((path) => path.endsWith('.sol')).sort();
  if (form.has('findsolidity')) return { kind: 'find-solidity', files: solidity };

  const compileOptions = () => ({
    roots: chooseRoots(form.all('source'), solidity, files),
    evmVersion: form.first('evm'),
    compilerVersion: form.first('compiler'),
  });
  if (form.has('findcontracts')) {
    return { kind: 'find-contracts', contracts: await listContracts(decodeSources(files), compileOptions()) };
  }

  const abiField = form.first('abi');
  const bytecodeField = form.first('bytecode');
  if (bytecodeField !== undefined && abiField === undefined) {
    throw invalidUpload(`'bytecode' was sent without 'abi': send the contract's ABI as the form field 'abi' (JSON) too`);
  }
  if (abiField !== undefined) {
    // ethconnect compiles when 'bytecode' is missing, so an ABI alone fails there (no .sol files). The
    // ABI of a contract deployed elsewhere is worth keeping on its own, to call it at its address: we
    // store it as not deployable instead.
    const bytecode = bytecodeField === undefined ? '' : parseBytecode(bytecodeField);
    return abiResult({ abi: parseAbi(abiField), bytecode, devdoc: null, compilerVersion: null }, named(form), undefined);
  }

  const compiled = await compileSolidity(decodeSources(files), { ...compileOptions(), contract: form.first('contract') });
  return abiResult(compiled, named(form), compiled.contractName);
}

function named(form: UploadForm): { name?: string; description?: string } {
  return { name: form.first('name'), description: form.first('description') };
}

function fromJson(raw: Buffer, query: UploadForm /* query string only: the body is JSON */): UploadResult {
  if (query.has('findsolidity') || query.has('findcontracts')) {
    throw invalidUpload(`findsolidity and findcontracts look into uploaded .sol files: send them as multipart/form-data`);
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw invalidUpload(`The body is not valid JSON (${(error as Error).message}): send {"abi": [...], "bytecode": "0x..."}, or the compiler's artifact JSON`, error);
  }
  // A bare array is an ABI on its own.
  const artifact: Record<string, unknown> = Array.isArray(body) ? { abi: body } : isRecord(body) ? body : {};
  if (!('abi' in artifact)) {
    throw invalidUpload(`The JSON body has no 'abi': send {"abi": [...], "bytecode": "0x..."}, or the compiler's artifact JSON (which has 'abi')`);
  }
  const abi = parseAbi(artifact['abi'], `the JSON 'abi'`);
  const code = artifactBytecode(artifact);
  const bytecode = code === undefined ? '' : parseBytecode(code, `the JSON 'bytecode'`);
  const devdoc = artifact['devdoc'];
  const contractName = typeof artifact['contractName'] === 'string' ? artifact['contractName'] : undefined;
  const text = (key: string): string | undefined => (typeof artifact[key] === 'string' && (artifact[key] as string).trim()) || query.first(key);
  return abiResult(
    {
      abi,
      bytecode,
      devdoc: isRecord(devdoc) ? JSON.stringify(devdoc) : typeof devdoc === 'string' && devdoc.trim() ? devdoc : null,
      compilerVersion: artifactCompilerVersion(artifact),
    },
    { name: text('name'), description: text('description') },
    contractName,
  );
}

/** hardhat/truffle `bytecode: "0x…"`, foundry `bytecode: {object}`, solc standard output `evm.bytecode.object`. */
function artifactBytecode(artifact: Record<string, unknown>): unknown {
  const bytecode = artifact['bytecode'];
  if (isRecord(bytecode)) return bytecode['object'];
  if (bytecode !== undefined && bytecode !== null) return bytecode;
  const evm = artifact['evm'];
  if (isRecord(evm) && isRecord(evm['bytecode'])) return evm['bytecode']['object'];
  return undefined;
}

/** `compilerVersion` as we store it, or the version in an artifact's metadata (foundry: object, solc: JSON string). */
function artifactCompilerVersion(artifact: Record<string, unknown>): string | null {
  if (typeof artifact['compilerVersion'] === 'string') return artifact['compilerVersion'];
  let metadata = artifact['metadata'];
  if (typeof metadata === 'string') {
    try {
      metadata = JSON.parse(metadata);
    } catch {
      return null;
    }
  }
  const compiler = isRecord(metadata) ? metadata['compiler'] : undefined;
  return isRecord(compiler) && typeof compiler['version'] === 'string' ? compiler['version'] : null;
}

function abiResult(
  parts: { abi: unknown[]; bytecode: string; devdoc: string | null; compilerVersion: string | null },
  given: { name?: string; description?: string },
  contractName: string | undefined,
): UploadResult {
  return {
    kind: 'abi',
    upload: {
      name: given.name?.trim() || contractName || 'Contract',
      description: given.description?.trim() || devdocDetails(parts.devdoc) || '',
      abi: parts.abi,
      bytecode: parts.bytecode,
      devdoc: parts.devdoc,
      compilerVersion: parts.compilerVersion,
      deployable: parts.bytecode !== '',
    },
  };
}

/** The contract-level `@dev` text, which ethconnect's Swagger generation also uses as the description. */
function devdocDetails(devdoc: string | null): string | undefined {
  if (!devdoc) return undefined;
  try {
    const parsed: unknown = JSON.parse(devdoc);
    return isRecord(parsed) && typeof parsed['details'] === 'string' ? parsed['details'] : undefined;
  } catch {
    return undefined;
  }
}

/** `source` paths (checked against the upload), else every .sol at the root, as ethconnect compiles by default. */
function chooseRoots(sourceFields: string[], solidity: string[], files: Map<string, Uint8Array>): string[] {
  if (sourceFields.length > 0) {
    return sourceFields.map((raw) => {
      const path = raw.trim().replace(/\\/g, '/').replace(/^(\.\/)+/, '');
      if (!files.has(path)) {
        throw invalidUpload(
          `'source' names '${raw}', which is not in the upload: set it to the path of a .sol file in the upload${solidity.length ? ` (${listed(solidity)})` : ', and upload the sources'}`,
        );
      }
      return path;
    });
  }
  const atRoot = solidity.filter((path) => !path.includes('/'));
  if (atRoot.length === 0) {
    throw invalidUpload(
      solidity.length
        ? `No .sol files found in the root of the upload: set 'source' to the relative path of your Solidity file (${listed(solidity)})`
        : `The upload has no .sol files and no 'abi': ${SEND_INSTEAD}`,
    );
  }
  return atRoot;
}

function listed(paths: string[]): string {
  return paths.length > 10 ? `${paths.slice(0, 10).join(', ')}, … (findsolidity lists all ${paths.length})` : paths.join(', ');
}

/** The upload as text for solc. A .sol that is not UTF-8 is refused up front; other files are only read if imported. */
function decodeSources(files: Map<string, Uint8Array>): Record<string, string> {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder('utf-8');
  const sources: Record<string, string> = {};
  for (const [path, data] of files) {
    if (!path.endsWith('.sol')) {
      sources[path] = lenient.decode(data);
      continue;
    }
    try {
      sources[path] = strict.decode(data);
    } catch (error) {
      throw invalidUpload(`'${path}' is not UTF-8 text: save it as UTF-8 and upload it again`, error);
    }
  }
  return sources;
}
