#!/usr/bin/env node
// `npm test`: everything CI checks, against real NATS, Postgres, anvil and SoftHSM2.
//   1. scripts/ensure-env.mjs   installs / starts what is missing (npm deps, Prisma client, Debian packages, Postgres, NATS)
//   2. nx run-many -t build lint test   every project (apps build first where tests need them: dependsOn)
//   3. one closing line over all jest runs, e.g. `tests: 123 passed, 0 failed`, from tmp/test-results/*.json
//      (written by scripts/jest-summary-reporter.js, plugged into jest.preset.js)
// Exit code: non-zero when any build, lint or test failed, or when no test ran at all.
// Extra arguments go to nx (e.g. `npm test -- -p config contracts`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEnv, EnvError } from './ensure-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'tmp', 'test-results');

try {
  await ensureEnv();
} catch (error) {
  console.error(`ensure-env: ${error instanceof EnvError ? error.message : error.stack}`);
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });

const started = Date.now();
const nx = spawnSync('npx', ['nx', 'run-many', '-t', 'build', 'lint', 'test', '--outputStyle=static', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const projects = [];
for (const file of existsSync(RESULTS) ? readdirSync(RESULTS).filter((f) => f.endsWith('.json')) : []) {
  const r = JSON.parse(readFileSync(join(RESULTS, file), 'utf8'));
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
  projects.push(`${r.project} ${r.passed}/${r.passed + r.failed}`);
}
const nxFailed = nx.status !== 0;
console.log(`\nper project (passed/total): ${projects.sort().join(', ') || 'none'}`);
console.log(`nx run-many ${nxFailed ? `FAILED (exit ${nx.status ?? nx.signal})` : 'succeeded'} in ${Math.round((Date.now() - started) / 1000)} s`);
// A failed build or lint target has no jest counts: count it as one failure so the closing line never says "0 failed" then.
if (nxFailed && failed === 0) failed = 1;
if (passed + failed === 0) failed = 1;
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(nxFailed || failed > 0 ? 1 : 0);
