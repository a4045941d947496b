import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defineConfig, int, loadConfig, oneOf, str, url } from './setting';

const schema = defineConfig('demo', {
  port: int({ env: 'PORT', default: 8545, min: 1, max: 65535, description: 'listen port for tests' }),
  mode: oneOf({ env: 'MODE', default: 'a', values: ['a', 'b'] as const, description: 'mode for tests here' }),
  db: url({ env: 'DB_URL', required: true, secret: true, protocols: ['postgres'], description: 'database url for tests' }),
  name: str({ env: 'NAME', default: 'x', description: 'a name for tests here' }),
});

describe('loadConfig', () => {
  it('applies defaults and parses values', () => {
    expect(loadConfig(schema, { DB_URL: 'postgres://u@h/d', PORT: '9000' })).toEqual({ port: 9000, mode: 'a', db: 'postgres://u@h/d', name: 'x' });
  });

  it('reports every problem at once and never echoes a secret', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(schema, { PORT: 'abc', MODE: 'c', DB_URL: 'mysql://user:hunter2@h/d' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(3);
    expect(error!.message).toMatch(/PORT="abc" is invalid: expected an integer/);
    expect(error!.message).toMatch(/MODE="c" is invalid: expected one of a, b/);
    expect(error!.message).toMatch(/DB_URL=\(secret\) is invalid/);
    expect(error!.message).not.toContain('hunter2');
  });

  it('names a missing required setting', () => {
    expect(() => loadConfig(schema, {})).toThrow(/DB_URL is required/);
  });

  it('reads a secret from <ENV>_FILE', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'db');
    writeFileSync(file, 'postgres://u:p@h/d\n');
    expect(loadConfig(schema, { DB_URL_FILE: file }).db).toBe('postgres://u:p@h/d');
  });
});
