import type { AppConfigSchema } from './setting';

/** Renders the configuration reference (docs/configuration.md and the README table) from the schemas. */
export function renderConfigTable(schemas: AppConfigSchema[]): string {
  const lines: string[] = [];
  for (const schema of schemas) {
    lines.push(`### ${schema.app}`, '', '| variable | type | default | description |', '| --- | --- | --- | --- |');
    for (const s of Object.values(schema.settings)) {
      const def = s.required ? '**required**' : s.default === undefined || s.default === '' ? '' : `\`${String(s.default)}\``;
      const desc = s.description + (s.secret ? ` Secret: may be given as a file path in \`${s.env}_FILE\`; never logged.` : '');
      lines.push(`| \`${s.env}\` | ${s.type} | ${def} | ${desc.replace(/\|/g, '\\|')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
