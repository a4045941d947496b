import { version as SOLC_PACKAGE_VERSION } from 'solc/package.json';
import { parseBytecode } from './abi-fields';
import { invalidUpload } from './upload-errors';

export interface CompileOptions {
  /** Which contract to keep, solc combined form `path/File.sol:Name` (a bare `Name` works when unique). */
  contract?: string;
  /** EVM version for solc; absent: solc's own default. */
  evmVersion?: string;
  /** `compiler` form field: a major.minor (e.g. `0.8`) that must be the bundled compiler's. */
  compilerVersion?: string;
  /** Files to compile (keys of `sources`); absent: every key. The others are only there to be imported. */
  roots?: string[];
}

export interface CompiledContract {
  abi: unknown[];
  /** Creation bytecode, `0x…`, or '' for an abstract contract or interface. */
  bytecode: string;
  /** solc's devdoc as a JSON string (what ethconnect stores), null when solc gave none. */
  devdoc: string | null;
  contractName: string;
  compilerVersion: string;
}

/** The solc-js version bundled with the gateway, e.g. `0.8.28`; read from package.json so asking does not load the compiler. */
export const BUNDLED_SOLC_VERSION: string = SOLC_PACKAGE_VERSION;

/** EVM versions solc 0.8.28 accepts (older than constantinople with a deprecation warning). */
export const EVM_VERSIONS = [
  'homestead',
  'tangerineWhistle',
  'spuriousDragon',
  'byzantium',
  'constantinople',
  'petersburg',
  'istanbul',
  'berlin',
  'london',
  'paris',
  'shanghai',
  'cancun',
  'prague',
] as const;

interface SolcContract {
  abi: unknown[];
  devdoc?: Record<string, unknown>;
  evm?: { bytecode?: { object?: string } };
}
interface SolcOutput {
  errors?: { severity: string; formattedMessage?: string; message: string }[];
  contracts?: Record<string, Record<string, SolcContract>>;
}

/**
 * Compiles uploaded Solidity with the bundled solc-js (in-process: no solc binary, no download; ethconnect
 * shells out to the `solc` on its PATH, and a missing one was its most common complaint, ISS#193) and
 * keeps one contract, as ethconnect's ProcessCompiled does.
 *
 * Settings follow ethconnect's command line (`--optimize`, default 200 runs) except the EVM version:
 * ethconnect defaults to `byzantium`, which solc 0.8 deprecates and which lacks opcodes 0.8 code uses
 * (`block.chainid` needs istanbul, `block.basefee` london); without `evm` we leave solc's default
 * (cancun for 0.8.28: its code uses PUSH0/MCOPY, so a chain still before shanghai needs `evm=paris`).
 *
 * This blocks the event loop: solc-js is a synchronous Emscripten build. Measured on a 2-vCPU dev VM:
 * the first call takes ~0.85 s, loading the compiler included (~0.45 s and +130 MB RSS, which is why it
 * is loaded lazily, only once someone uploads Solidity); after that the specs' Greeter (a string state
 * variable, a constructor argument, one setter) compiles in ~0.2 s and a 10-line token with a library in
 * ~0.05 s, optimizer on.
 * Acceptable for an admin upload; a gateway serving heavy traffic should compile elsewhere and upload
 * `abi` + `bytecode`.
 */
export async function compileSolidity(sources: Record<string, string>, options: CompileOptions = {}): Promise<CompiledContract> {
  const { contracts, compilerVersion, roots } = await runSolc(sources, options);
  const [key, contract] = chooseContract(contracts, options.contract, roots);
  const contractName = key.slice(key.lastIndexOf(':') + 1);
  const object = contract.evm?.bytecode?.object ?? '';
  return {
    abi: contract.abi,
    bytecode: parseBytecode(object, `the compiled bytecode of ${key}`),
    devdoc: contract.devdoc ? JSON.stringify(contract.devdoc) : null,
    contractName,
    compilerVersion,
  };
}

/** `file.sol:Name` of every contract the sources compile to (the `findcontracts` answer), sorted. */
export async function listContracts(sources: Record<string, string>, options: Omit<CompileOptions, 'contract'> = {}): Promise<string[]> {
  const { contracts } = await runSolc(sources, options);
  return [...contracts.keys()].sort();
}

async function runSolc(sources: Record<string, string>, options: CompileOptions): Promise<{ contracts: Map<string, SolcContract>; compilerVersion: string; roots: string[] }> {
  checkCompilerVersion(options.compilerVersion);
  const evmVersion = options.evmVersion?.trim() || undefined;
  if (evmVersion && !(EVM_VERSIONS as readonly string[]).includes(evmVersion)) {
    throw invalidUpload(`'evm' is not an EVM version solc ${BUNDLED_SOLC_VERSION} knows ('${evmVersion}'): use one of ${EVM_VERSIONS.join(', ')}, or leave it out for solc's default`);
  }
  const roots = options.roots ?? Object.keys(sources);
  if (roots.length === 0) throw invalidUpload(`There are no Solidity sources to compile: upload .sol files, or send 'abi' (JSON) with 'bytecode'`);

  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(roots.map((path) => [path, { content: sources[path] }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      ...(evmVersion ? { evmVersion } : {}),
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'devdoc'] } },
    },
  };
  // Imports resolve against the upload only; solc has already normalised `./B.sol` against the importing
  // file's folder. A package import (`@openzeppelin/…`) is also looked for under `node_modules/`, so a
  // zipped hardhat project imports the way it compiles at home (solc's CLI needs --include-path for it).
  const has = (path: string) => Object.prototype.hasOwnProperty.call(sources, path);
  const readImport = (path: string) => {
    const found = [path, `node_modules/${path}`].find(has);
    return found !== undefined
      ? { contents: sources[found] }
      : { error: `'${path}' is not in the upload: upload it too (inside a .zip or .tar.gz to keep its folder)` };
  };

  const solc = await import('solc');
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: readImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw compileFailed(errors.map((e) => (e.formattedMessage ?? e.message).trim()));

  const contracts = new Map<string, SolcContract>();
  for (const [file, byName] of Object.entries(output.contracts ?? {})) {
    for (const [name, contract] of Object.entries(byName)) contracts.set(`${file}:${name}`, contract);
  }
  return { contracts, compilerVersion: solc.version(), roots };
}

const MAX_ERRORS_SHOWN = 10;

function compileFailed(messages: string[]) {
  const shown = messages.slice(0, MAX_ERRORS_SHOWN);
  const more = messages.length - shown.length;
  return invalidUpload(
    `Failed to compile solidity: fix the source and upload it again:\n${shown.join('\n\n')}${more > 0 ? `\n\n(and ${more} more error${more > 1 ? 's' : ''})` : ''}`,
  );
}

/** ethconnect accepts any `compiler` it has a `<PREFIX>_SOLC_<major>_<minor>` binary for; we have one compiler. */
function checkCompilerVersion(requested: string | undefined): void {
  const text = requested?.trim();
  if (!text) return;
  const bundled = BUNDLED_SOLC_VERSION.split('.').slice(0, 2).join('.');
  const match = /^v?(\d+)\.(\d+)/.exec(text);
  if (!match) {
    throw invalidUpload(`'compiler' must be a solc version like ${bundled} ('${text}' is not): this gateway bundles solc ${BUNDLED_SOLC_VERSION}; leave 'compiler' out to use it`);
  }
  if (`${Number(match[1])}.${Number(match[2])}` !== bundled) {
    throw invalidUpload(
      `'compiler' asks for solc ${match[1]}.${match[2]}, but this gateway bundles solc ${BUNDLED_SOLC_VERSION} only: leave 'compiler' out (or set it to ${bundled}) with a source whose pragma accepts ${BUNDLED_SOLC_VERSION}, or compile elsewhere and send 'abi' (JSON) with 'bytecode'`,
    );
  }
}

/**
 * The contract to keep. With `contract`: the exact `path:Name` key, else the only key ending in
 * `/<contract>` or `:<contract>` (so `Token.sol:Token` and `Token` work). Without: the only contract
 * with bytecode declared in the compiled files themselves, else the only one with bytecode at all.
 * ethconnect counts every contract solc output, interfaces and imported libraries included, so
 * `Token.sol` importing a library needed `contract` there; it does not here. An upload holding a
 * single contract without bytecode (an interface) is kept as a not-deployable ABI.
 */
function chooseContract(contracts: Map<string, SolcContract>, wanted: string | undefined, roots: string[]): [string, SolcContract] {
  const keys = [...contracts.keys()].sort();
  const pick = (key: string): [string, SolcContract] => [key, contracts.get(key) as SolcContract];
  if (keys.length === 0) throw invalidUpload(`The sources compile to no contract: upload the .sol file that declares the contract`);
  const name = wanted?.trim();
  if (name) {
    if (contracts.has(name)) return pick(name);
    const matches = keys.filter((k) => k.endsWith(`/${name}`) || k.endsWith(`:${name}`));
    if (matches.length === 1) return pick(matches[0]);
    throw invalidUpload(
      matches.length > 1
        ? `'contract' = '${name}' matches ${matches.join(', ')}: set 'contract' to one of them`
        : `There is no contract '${name}' in the compiled sources: set 'contract' to one of ${keys.join(', ')}`,
    );
  }
  const deployable = keys.filter((k) => (contracts.get(k)?.evm?.bytecode?.object ?? '') !== '');
  const inRoots = deployable.filter((k) => roots.includes(k.slice(0, k.lastIndexOf(':'))));
  if (inRoots.length === 1) return pick(inRoots[0]);
  if (inRoots.length === 0 && deployable.length === 1) return pick(deployable[0]);
  if (deployable.length === 0 && keys.length === 1) return pick(keys[0]);
  throw invalidUpload(`The sources compile to more than one contract: set 'contract' to one of ${keys.join(', ')} (solc combined form path/File.sol:Name)`);
}
