import { readFileSync } from 'node:fs';

/**
 * One configuration setting: read from an environment variable, validated, documented. Secrets may
 * instead be given as a file path in `<ENV>_FILE` (Docker / Kubernetes secrets) and are never echoed.
 */
export interface Setting<T> {
  env: string;
  description: string;
  /** Shown in docs; omitted for required settings. */
  default?: T;
  required?: boolean;
  secret?: boolean;
  /** Type label for the docs ("integer", "url", "one of a|b"…). */
  type: string;
  parse(raw: string): T;
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends SettingsSpec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export interface AppConfigSchema<S extends SettingsSpec = SettingsSpec> {
  app: string;
  settings: S;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly app: string, readonly problems: string[]) {
    super(`invalid configuration for ${app}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function defineConfig<S extends SettingsSpec>(app: string, settings: S): AppConfigSchema<S> {
  return { app, settings };
}

/** Reads and validates every setting, reporting all problems at once. */
export function loadConfig<S extends SettingsSpec>(schema: AppConfigSchema<S>, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(schema.settings)) {
    let raw = env[setting.env];
    const fileVar = `${setting.env}_FILE`;
    if ((raw === undefined || raw === '') && setting.secret && env[fileVar]) {
      try {
        raw = readFileSync(env[fileVar] as string, 'utf8').trim();
      } catch (error) {
        problems.push(`${fileVar}: cannot read ${env[fileVar]} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
    }
    if (raw === undefined || raw === '') {
      if (setting.required) problems.push(`${setting.env} is required: ${setting.description}`);
      else out[key] = setting.default;
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (error) {
      const shown = setting.secret ? '(secret)' : JSON.stringify(raw);
      problems.push(`${setting.env}=${shown} is invalid: ${(error as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(schema.app, problems);
  return out as ConfigOf<S>;
}

// --- setting constructors ---------------------------------------------------------------------

type Common<T> = { env: string; description: string; default?: T; required?: boolean; secret?: boolean };

export const str = (o: Common<string>): Setting<string> => ({ ...o, type: 'string', parse: (r) => r });

export const int = (o: Common<number> & { min?: number; max?: number }): Setting<number> => ({
  ...o,
  type: 'integer',
  parse: (r) => {
    if (!/^-?\d+$/.test(r)) throw new Error('expected an integer');
    const n = Number(r);
    if (o.min !== undefined && n < o.min) throw new Error(`must be >= ${o.min}`);
    if (o.max !== undefined && n > o.max) throw new Error(`must be <= ${o.max}`);
    return n;
  },
});

export const num = (o: Common<number> & { min?: number }): Setting<number> => ({
  ...o,
  type: 'number',
  parse: (r) => {
    const n = Number(r);
    if (!Number.isFinite(n)) throw new Error('expected a number');
    if (o.min !== undefined && n < o.min) throw new Error(`must be >= ${o.min}`);
    return n;
  },
});

export const bool = (o: Common<boolean>): Setting<boolean> => ({
  ...o,
  type: 'boolean',
  parse: (r) => {
    if (/^(1|true|yes|on)$/i.test(r)) return true;
    if (/^(0|false|no|off)$/i.test(r)) return false;
    throw new Error('expected true or false');
  },
});

export const url = (o: Common<string> & { protocols?: string[] }): Setting<string> => ({
  ...o,
  type: 'url',
  parse: (r) => {
    let u: URL;
    try {
      u = new URL(r);
    } catch {
      throw new Error('expected a URL');
    }
    if (o.protocols && !o.protocols.includes(u.protocol.replace(':', ''))) throw new Error(`expected ${o.protocols.join(' or ')} URL`);
    return r;
  },
});

/** Comma-separated list of URLs (NATS allows several servers). */
export const urlList = (o: Common<string>): Setting<string> => ({
  ...o,
  type: 'url list',
  parse: (r) => {
    for (const part of r.split(',')) {
      try {
        new URL(part.trim());
      } catch {
        throw new Error(`"${part.trim()}" is not a URL`);
      }
    }
    return r;
  },
});

export const oneOf = <T extends string>(o: Common<T> & { values: readonly T[] }): Setting<T> => ({
  ...o,
  type: `one of ${o.values.join(' | ')}`,
  parse: (r) => {
    if (!o.values.includes(r as T)) throw new Error(`expected one of ${o.values.join(', ')}`);
    return r as T;
  },
});

export const optionalStr = (o: Omit<Common<string | undefined>, 'default'>): Setting<string | undefined> => ({
  ...o,
  type: 'string',
  default: undefined,
  parse: (r) => r,
});
