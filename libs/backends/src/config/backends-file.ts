/**
 * The backends file (BACKENDS_CONFIG_FILE, JSON or YAML): several signing backends at once, each
 * with an id. Secrets never sit in the file: a secret field is `{ env: NAME }` or `{ file: PATH }`
 * (Docker / Kubernetes secrets), resolved when the file is loaded and never echoed in an error.
 * Reference: docs/backends.md. Parsing is pure (input object + env + file reader) so it unit-tests.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** A secret resolved from the environment or a file. */
export type SecretRef = { env: string } | { file: string };

export interface AzureKeyVaultDefinition {
  type: 'azure-keyvault';
  id: string;
  vaultUrl: string;
  auth:
    | { method: 'client-secret'; tenantId: string; clientId: string; clientSecret: string; authorityHost?: string }
    | { method: 'certificate'; tenantId: string; clientId: string; certificatePath: string; certificatePassword?: string; authorityHost?: string }
    | { method: 'managed-identity'; clientId?: string }
    | { method: 'default'; managedIdentityClientId?: string }
    /** A bearer token minted elsewhere (read again at every token request when it comes from a file). */
    | { method: 'static-token'; token: () => string };
  keys: { tag?: string; namePrefix?: string };
  requestTimeoutMs?: number;
  maxRetries?: number;
  allowInsecureConnection?: boolean;
  disableChallengeResourceVerification?: boolean;
}

export interface VaultEthsignDefinition {
  type: 'vault-ethsign';
  id: string;
  endpoint: string;
  mount?: string;
  namespace?: string;
  auth:
    | { method: 'token'; token: string }
    | { method: 'approle'; roleId: string; secretId: string; mount?: string }
    | { method: 'kubernetes'; role: string; jwtPath?: string; mount?: string };
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  requestTimeoutMs?: number;
}

export interface AwsKmsDefinition {
  type: 'aws-kms';
  id: string;
  region: string;
  endpoint?: string;
  /** Absent = the standard AWS credential chain (env, shared config, web identity, ECS / EC2 role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  keys: { aliasPrefix?: string; tag?: string };
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
  requestTimeoutMs?: number;
}

export interface Pkcs11Definition {
  type: 'pkcs11';
  id: string;
  module: string;
  tokenLabel: string;
  pin: string;
  keyLabelPrefix?: string;
  sessions?: number;
}

export type BackendDefinition = AzureKeyVaultDefinition | VaultEthsignDefinition | AwsKmsDefinition | Pkcs11Definition;

export const BACKEND_TYPES = ['azure-keyvault', 'vault-ethsign', 'aws-kms', 'pkcs11'] as const;

export class BackendsConfigError extends Error {
  override readonly name = 'BackendsConfigError';
  constructor(readonly source: string, readonly problems: string[]) {
    super(`invalid backends configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface ParseContext {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
}

const defaultContext = (): ParseContext => ({ env: process.env, readFile: (p) => readFileSync(p, 'utf8') });

/** Reads BACKENDS_CONFIG_FILE (.json, or .yaml / .yml). */
export function loadBackendsFile(path: string, ctx: ParseContext = defaultContext()): BackendDefinition[] {
  let text: string;
  try {
    text = ctx.readFile(path);
  } catch (error) {
    throw new BackendsConfigError(path, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new BackendsConfigError(path, [`not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message.split('\n')[0]}`]);
  }
  return parseBackendsDocument(doc, path, ctx);
}

/** Validates a parsed document `{ backends: [...] }`, reporting every problem at once. */
export function parseBackendsDocument(doc: unknown, source: string, ctx: ParseContext = defaultContext()): BackendDefinition[] {
  const problems: string[] = [];
  const list = isObject(doc) ? doc['backends'] : undefined;
  if (!Array.isArray(list)) throw new BackendsConfigError(source, ['expected an object with a "backends" array']);
  const out: BackendDefinition[] = [];
  const ids = new Set<string>();
  list.forEach((raw, i) => {
    const r = new Reader(raw, `backends[${i}]`, problems, ctx);
    const id = r.str('id');
    const type = r.oneOf('type', BACKEND_TYPES);
    if (id !== undefined) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id)) problems.push(`${r.at}.id must be 1–100 letters, digits, ".", "_" or "-"`);
      if (ids.has(id)) problems.push(`${r.at}.id "${id}" is used twice`);
      ids.add(id);
    }
    if (id === undefined || type === undefined) return;
    const def = parseOne(type, id, r);
    if (def) out.push(def);
  });
  if (problems.length) throw new BackendsConfigError(source, problems);
  return out;
}

function parseOne(type: (typeof BACKEND_TYPES)[number], id: string, r: Reader): BackendDefinition | undefined {
  const before = r.problems.length;
  let def: BackendDefinition | undefined;
  switch (type) {
    case 'azure-keyvault': {
      const auth = r.child('auth');
      const method = auth.oneOf('method', ['client-secret', 'certificate', 'managed-identity', 'default', 'static-token'] as const);
      let a: AzureKeyVaultDefinition['auth'] | undefined;
      if (method === 'client-secret') a = { method, tenantId: auth.str('tenantId') ?? '', clientId: auth.str('clientId') ?? '', clientSecret: auth.secret('clientSecret') ?? '', authorityHost: auth.optStr('authorityHost') };
      else if (method === 'certificate') {
        a = { method, tenantId: auth.str('tenantId') ?? '', clientId: auth.str('clientId') ?? '', certificatePath: auth.str('certificatePath') ?? '', certificatePassword: auth.optSecret('certificatePassword'), authorityHost: auth.optStr('authorityHost') };
      } else if (method === 'managed-identity') a = { method, clientId: auth.optStr('clientId') };
      else if (method === 'default') a = { method, managedIdentityClientId: auth.optStr('managedIdentityClientId') };
      else if (method === 'static-token') {
        const token = auth.secretSource('token');
        if (token) a = { method, token };
      }
      const keys = r.optChild('keys');
      def = {
        type,
        id,
        vaultUrl: r.url('vaultUrl') ?? '',
        auth: a as AzureKeyVaultDefinition['auth'],
        keys: { tag: keys?.optStr('tag'), namePrefix: keys?.optStr('namePrefix') },
        requestTimeoutMs: r.optInt('requestTimeoutMs', 100),
        maxRetries: r.optInt('maxRetries', 0),
        allowInsecureConnection: r.optBool('allowInsecureConnection'),
        disableChallengeResourceVerification: r.optBool('disableChallengeResourceVerification'),
      };
      break;
    }
    case 'vault-ethsign': {
      const auth = r.child('auth');
      const method = auth.oneOf('method', ['token', 'approle', 'kubernetes'] as const);
      let a: VaultEthsignDefinition['auth'] | undefined;
      if (method === 'token') a = { method, token: auth.secret('token') ?? '' };
      else if (method === 'approle') a = { method, roleId: auth.str('roleId') ?? '', secretId: auth.secret('secretId') ?? '', mount: auth.optStr('mount') };
      else if (method === 'kubernetes') a = { method, role: auth.str('role') ?? '', jwtPath: auth.optStr('jwtPath'), mount: auth.optStr('mount') };
      const tls = r.optChild('tls');
      def = {
        type,
        id,
        endpoint: r.url('endpoint') ?? '',
        mount: r.optStr('mount'),
        namespace: r.optStr('namespace'),
        auth: a as VaultEthsignDefinition['auth'],
        tls: tls && {
          ca: tls.optFile('caFile'),
          cert: tls.optFile('certFile'),
          key: tls.optFile('keyFile'),
          rejectUnauthorized: tls.optBool('insecureSkipVerify') === true ? false : undefined,
        },
        requestTimeoutMs: r.optInt('requestTimeoutMs', 100),
      };
      if (tls && (def.tls?.cert === undefined) !== (def.tls?.key === undefined)) r.problems.push(`${tls.at}: certFile and keyFile go together`);
      break;
    }
    case 'aws-kms': {
      const creds = r.optChild('credentials');
      const keys = r.optChild('keys');
      def = {
        type,
        id,
        region: r.str('region') ?? '',
        endpoint: r.optUrl('endpoint'),
        credentials: creds && { accessKeyId: creds.secret('accessKeyId') ?? '', secretAccessKey: creds.secret('secretAccessKey') ?? '', sessionToken: creds.optSecret('sessionToken') },
        keys: { aliasPrefix: keys?.optStr('aliasPrefix'), tag: keys?.optStr('tag') },
        maxAttempts: r.optInt('maxAttempts', 1),
        retryMode: r.optOneOf('retryMode', ['standard', 'adaptive'] as const),
        requestTimeoutMs: r.optInt('requestTimeoutMs', 100),
      };
      break;
    }
    case 'pkcs11':
      def = {
        type,
        id,
        module: r.str('module') ?? '',
        tokenLabel: r.str('tokenLabel') ?? '',
        pin: r.secret('pin') ?? '',
        keyLabelPrefix: r.optStr('keyLabelPrefix'),
        sessions: r.optInt('sessions', 1),
      };
      break;
  }
  return r.problems.length === before ? def : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field access with problem collection; secret values are never put into a problem text. */
class Reader {
  private readonly obj: Record<string, unknown>;
  constructor(raw: unknown, readonly at: string, readonly problems: string[], private readonly ctx: ParseContext) {
    if (!isObject(raw)) {
      problems.push(`${at} must be an object`);
      this.obj = {};
    } else this.obj = raw;
  }

  private has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  child(key: string): Reader {
    if (!this.has(key)) this.problems.push(`${this.at}.${key} is required`);
    return new Reader(this.obj[key] ?? {}, `${this.at}.${key}`, this.problems, this.ctx);
  }

  optChild(key: string): Reader | undefined {
    return this.has(key) ? new Reader(this.obj[key], `${this.at}.${key}`, this.problems, this.ctx) : undefined;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (typeof v === 'string' && v.trim() !== '') return v;
    this.problems.push(`${this.at}.${key} is required (a non-empty string)`);
    return undefined;
  }

  optStr(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    return this.str(key);
  }

  url(key: string): string | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
      return v;
    } catch {
      this.problems.push(`${this.at}.${key} must be an http(s) URL`);
      return undefined;
    }
  }

  optUrl(key: string): string | undefined {
    return this.has(key) ? this.url(key) : undefined;
  }

  optInt(key: string, min: number): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= min) return v;
    this.problems.push(`${this.at}.${key} must be an integer >= ${min}`);
    return undefined;
  }

  optBool(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v === 'boolean') return v;
    this.problems.push(`${this.at}.${key} must be true or false`);
    return undefined;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.obj[key];
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${this.at}.${key} must be one of ${values.join(', ')}`);
    return undefined;
  }

  optOneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    return this.has(key) ? this.oneOf(key, values) : undefined;
  }

  optFile(key: string): string | undefined {
    const path = this.optStr(key);
    if (path === undefined) return undefined;
    try {
      return this.ctx.readFile(path);
    } catch (error) {
      this.problems.push(`${this.at}.${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }

  /** A secret as a function, so a file-backed value is read again each time (rotated tokens). */
  secretSource(key: string): (() => string) | undefined {
    const ref = this.secretRef(key);
    if (!ref) return undefined;
    const first = this.resolve(key, ref);
    if (first === undefined) return undefined;
    if ('env' in ref) return () => first;
    return () => {
      try {
        return this.ctx.readFile(ref.file).trim();
      } catch {
        return first;
      }
    };
  }

  secret(key: string): string | undefined {
    const ref = this.secretRef(key);
    return ref && this.resolve(key, ref);
  }

  optSecret(key: string): string | undefined {
    return this.has(key) ? this.secret(key) : undefined;
  }

  private secretRef(key: string): SecretRef | undefined {
    const v = this.obj[key];
    if (isObject(v) && typeof v['env'] === 'string' && v['file'] === undefined) return { env: v['env'] };
    if (isObject(v) && typeof v['file'] === 'string' && v['env'] === undefined) return { file: v['file'] };
    // Never echo the value: it may be a secret pasted into the file by mistake.
    this.problems.push(`${this.at}.${key} must be { env: VARIABLE } or { file: PATH } (secrets are not written into the backends file)`);
    return undefined;
  }

  private resolve(key: string, ref: SecretRef): string | undefined {
    if ('env' in ref) {
      const v = this.ctx.env[ref.env];
      if (v === undefined || v === '') {
        this.problems.push(`${this.at}.${key}: environment variable ${ref.env} is not set`);
        return undefined;
      }
      return v;
    }
    try {
      const v = this.ctx.readFile(ref.file).trim();
      if (v === '') throw Object.assign(new Error('empty'), { code: 'EMPTY' });
      return v;
    } catch (error) {
      this.problems.push(`${this.at}.${key}: cannot read secret file ${ref.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
}
