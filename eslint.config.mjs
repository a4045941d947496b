import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries (nrwl/nx-workshop style): every project carries a `type:` and a `scope:` tag.
// Apps depend on libs, never on each other; libs never on apps; only signer-service may reach the
// backend connectors (it alone holds backend credentials) and only data-access libs own Prisma.
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:util', 'type:contracts', 'type:data-access', 'type:backend', 'type:testing'] },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:backend', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:util', 'type:contracts', 'type:data-access', 'type:backend', 'type:feature'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:testing', 'type:util', 'type:contracts'] },
  { sourceTag: 'scope:rpc-gateway', notDependOnLibsWithTags: ['type:backend', 'type:data-access'] },
  { sourceTag: 'scope:rest-gateway', notDependOnLibsWithTags: ['type:backend'] },
  { sourceTag: 'scope:nonce-service', notDependOnLibsWithTags: ['type:backend'] },
  { sourceTag: 'scope:key-discovery', notDependOnLibsWithTags: ['type:backend'] },
];

// Tests and benches may use the test harness (libs/testing) whichever project they live in.
const testDepConstraints = depConstraints.map((c) =>
  c.onlyDependOnLibsWithTags ? { ...c, onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:testing'])] } : c,
);

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/generated/**', 'tmp/**', '.nx/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'libs/testing/**/*.ts', 'bench/**/*.ts', 'e2e/**/*.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: testDepConstraints }] },
  },
];
