import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '@hsm-signer/testing';
import { allAppConfigs, loadConfig, type AppConfigSchema } from './index';

// The Helm chart is rendered with the real helm binary and every Deployment is checked against the
// app's config schema, the same way docker-compose.yml is (compose.spec.ts).
const root = join(__dirname, '../../..');
const chart = join(root, 'deploy/helm/hsm-signer');
const required = ['--set', 'database.url=postgres://hsm:secret@db:5432/hsm', '--set', 'pkcs11.tokenLabel=prod-token', '--set', 'pkcs11.pin=cu:pw'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { replicas?: number; template?: { spec: { containers: Array<{ env: EnvVar[]; ports: Array<{ containerPort: number }> }> } } };
  stringData?: Record<string, string>;
}

function render(args: string[]): Manifest[] {
  const out = execFileSync(helmBinary(), ['template', 'hsm', chart, ...args], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJSON() as Manifest)
    .filter(Boolean);
}

describe('Helm chart deploy/helm/hsm-signer', () => {
  const manifests = render(required);
  const secrets = Object.fromEntries(manifests.filter((m) => m.kind === 'Secret').map((s) => [s.metadata.name, s.stringData ?? {}]));

  it('passes helm lint', () => {
    expect(() => execFileSync(helmBinary(), ['lint', chart, ...required], { encoding: 'utf8' })).not.toThrow();
  });

  it.each(allAppConfigs.map((s) => [s.app, s as AppConfigSchema] as [string, AppConfigSchema]))('%s: one Deployment whose environment passes the app config schema', (app, schema) => {
    const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.labels?.['app.kubernetes.io/name'] === app);
    expect(deployment).toBeDefined();
    const container = deployment!.spec.template!.spec.containers[0];
    const env: Record<string, string> = {};
    for (const v of container.env) {
      env[v.name] = v.value ?? secrets[v.valueFrom!.secretKeyRef.name]?.[v.valueFrom!.secretKeyRef.key];
    }
    expect(env.APP).toBe(app);
    const known = new Set(Object.values(schema.settings).map((s) => s.env));
    expect(Object.keys(env).filter((k) => k !== 'APP' && !known.has(k))).toEqual([]);
    const config = loadConfig(schema, env) as { port: number };
    expect(container.ports[0].containerPort).toBe(config.port);
  });

  it('signer-service scales on its own with an HPA; the others have fixed replicas', () => {
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler');
    expect((hpa?.spec.scaleTargetRef as { name: string }).name).toBe('hsm-signer-service');
    expect((hpa?.spec as { minReplicas: number }).minReplicas).toBeGreaterThanOrEqual(2);
    const signer = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'hsm-signer-service');
    expect(signer?.spec.replicas).toBeUndefined();
    const gateway = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'hsm-rpc-gateway');
    expect(gateway?.spec.replicas).toBe(2);
  });

  it('keeps secrets out of the Deployments', () => {
    const text = JSON.stringify(manifests.filter((m) => m.kind === 'Deployment'));
    expect(text).not.toContain('secret@db');
    expect(text).not.toContain('cu:pw');
  });

  it('refuses to render without a database', () => {
    expect(() => execFileSync(helmBinary(), ['template', 'hsm', chart, '--set', 'pkcs11.tokenLabel=t'], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/needs a database/);
  });
});
