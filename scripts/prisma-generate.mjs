#!/usr/bin/env node
// Generates the Prisma client into libs/persistence/src/generated (gitignored) without network
// access. Every prisma CLI command first tries to download the native schema engine; `generate`
// does not run it, so pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file is enough
// (shared/services.md "Prisma without network access"). Idempotent: skips when the schema and the
// prisma version are unchanged since the last run (a stamp file next to the output).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'libs', 'persistence');
const schema = join(lib, 'prisma', 'schema.prisma');
const output = join(lib, 'src', 'generated', 'prisma');
const stamp = join(output, '.schema-stamp');
const force = process.argv.includes('--force');

const require = createRequire(import.meta.url);
let cli;
let version;
try {
  const pkg = require.resolve('prisma/package.json', { paths: [root] });
  version = JSON.parse(readFileSync(pkg, 'utf8')).version;
  cli = join(dirname(pkg), 'build', 'index.js');
} catch {
  // A production install without dev dependencies: the client must have been generated at build time.
  console.warn('[prisma-generate] the prisma CLI is not installed; skipping client generation');
  process.exit(0);
}

const digest = createHash('sha256').update(readFileSync(schema)).update(version).digest('hex');
if (!force && existsSync(join(output, 'client.ts')) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) {
  console.log('[prisma-generate] client is up to date');
  process.exit(0);
}

const env = {
  ...process.env,
  // Any existing path will do: generate never executes the schema engine.
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync(process.execPath, [cli, 'generate', '--config', join(lib, 'prisma.config.ts')], { cwd: lib, env, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(`[prisma-generate] prisma generate failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}
writeFileSync(stamp, digest + '\n');
