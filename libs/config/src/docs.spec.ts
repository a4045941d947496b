import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allAppConfigs, renderConfigDocument, spliceReadmeConfig } from './index';

// FireFly-signer habit: the configuration reference is generated from the schemas and this test
// fails when the committed copy drifts. Fix with `npm run docs:config`.
const root = join(__dirname, '../../..');

describe('configuration docs', () => {
  it('docs/configuration.md matches the app config schemas', () => {
    expect(readFileSync(join(root, 'docs/configuration.md'), 'utf8')).toBe(renderConfigDocument(allAppConfigs));
  });

  it('README.md configuration table matches the app config schemas', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toBe(spliceReadmeConfig(readme, allAppConfigs));
  });

  it('every setting has a description and a unique variable per app', () => {
    for (const schema of allAppConfigs) {
      const envs = Object.values(schema.settings).map((s) => s.env);
      expect(new Set(envs).size).toBe(envs.length);
      for (const s of Object.values(schema.settings)) expect(s.description.length).toBeGreaterThan(10);
    }
  });
});
