import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { allAppConfigs, loadConfig, type AppConfigSchema } from './index';

// No Docker engine runs in CI, so docker-compose.yml is kept honest here: every app service must be
// configured exactly as its config schema demands, and start the way `npm start` starts it.
const root = join(__dirname, '../../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; ports?: string[]; command?: unknown; depends_on?: unknown }>;
};
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
/** Variables a container needs that are not app settings (read by libraries, not by our config). */
const NON_APP_VARIABLES = new Set(['APP', 'SOFTHSM2_CONF']);

describe.each(allAppConfigs.map((schema) => [schema.app, schema] as [string, AppConfigSchema]))('docker-compose service %s', (app, schema) => {
  const service = compose.services[app];
  const env = service?.environment ?? {};
  const known = new Set(Object.values(schema.settings).flatMap((s) => [s.env, `${s.env}_FILE`]));

  it('exists and runs its own app', () => {
    expect(service).toBeDefined();
    expect(env.APP).toBe(app);
  });

  it('sets only variables the app reads, and they pass its config validation', () => {
    const unknown = Object.keys(env).filter((k) => !known.has(k) && !NON_APP_VARIABLES.has(k));
    expect(unknown).toEqual([]);
    expect(() => loadConfig(schema, env)).not.toThrow();
  });

  it('publishes the port the app listens on', () => {
    const config = loadConfig(schema, env) as { port?: number };
    for (const mapping of service?.ports ?? []) {
      expect(Number(String(mapping).split(':').pop())).toBe(config.port);
    }
  });

  it('points at services that exist in the compose file', () => {
    for (const key of ['NATS_URL', 'DATABASE_URL', 'ETH_NODE_URL']) {
      if (!env[key]) continue;
      for (const part of env[key].split(',')) {
        expect(Object.keys(compose.services)).toContain(new URL(part).hostname);
      }
    }
  });
});

describe('container start-up path', () => {
  it('the image starts dist/<app>/apps/<app>/src/main.js, the same file the nx serve target and npm start run', () => {
    expect(dockerfile).toMatch(/node dist\/\$\{APP\}\/apps\/\$\{APP\}\/src\/main\.js/);
    for (const schema of allAppConfigs) {
      const project = JSON.parse(readFileSync(join(root, 'apps', schema.app, 'project.json'), 'utf8'));
      expect(project.targets.serve.options.command).toBe(`node dist/${schema.app}/apps/${schema.app}/src/main.js`);
    }
  });

  it('signer-service scales on its own and shares the dev token volume', () => {
    const signer = compose.services['signer-service'] as { deploy?: { replicas?: number }; volumes?: string[] };
    expect(signer.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(signer.volumes).toContain('softhsm:/var/lib/softhsm');
  });
});
