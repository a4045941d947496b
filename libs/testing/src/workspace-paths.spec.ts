import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The apps are built by swc (.swcrc paths) but type-checked and tested through tsconfig.base.json's
// paths: a library missing from .swcrc passes every spec and fails only when a built service starts
// ("Cannot find module '@hsm-signer/…'"), as happened with @hsm-signer/metrics.
const root = join(__dirname, '..', '..', '..');
const readJson = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as { compilerOptions?: { paths?: Record<string, string[]> }; jsc?: { paths?: Record<string, string[]> } };

describe('workspace library paths', () => {
  it('.swcrc maps every @hsm-signer library tsconfig.base.json maps, to the same file', () => {
    const ts = readJson('tsconfig.base.json').compilerOptions?.paths ?? {};
    const swc = readJson('.swcrc').jsc?.paths ?? {};
    expect(Object.keys(ts).length).toBeGreaterThan(0);
    expect(swc).toEqual(ts);
  });
});
