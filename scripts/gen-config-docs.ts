// Regenerates the configuration reference from the apps' config schemas (libs/config/src/apps):
// docs/configuration.md and the table in README.md between the config markers.
// Run: npm run docs:config   — libs/config/src/docs.spec.ts fails when either is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allAppConfigs, renderConfigDocument, spliceReadmeConfig } from '@hsm-signer/config';

const root = join(__dirname, '..');
writeFileSync(join(root, 'docs/configuration.md'), renderConfigDocument(allAppConfigs));
const readmePath = join(root, 'README.md');
writeFileSync(readmePath, spliceReadmeConfig(readFileSync(readmePath, 'utf8'), allAppConfigs));
console.log('wrote docs/configuration.md and the README configuration table');
