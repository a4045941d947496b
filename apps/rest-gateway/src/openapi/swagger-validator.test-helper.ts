import { spawnSync } from 'node:child_process';

/*
 * Test helper: validates Swagger documents with @apidevtools/swagger-parser in a child Node process.
 * swagger-parser 13 requires the ESM-only json-schema-ref-parser, which Node loads (require(esm)) but
 * jest's CommonJS module system cannot, and the jest config is shared; a child process sidesteps that.
 * The document travels as JSON, which is also the structuredClone the validator needs (it dereferences in place).
 */
const SCRIPT = `
const SwaggerParser = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const results = [];
  for (const doc of JSON.parse(input)) {
    try {
      await SwaggerParser.validate(doc);
      results.push(null);
    } catch (error) {
      results.push(String(error && error.message));
    }
  }
  process.stdout.write(JSON.stringify(results));
});
`;

/** For each document: null when valid, else the validator's message. */
export function validateSwagger(docs: readonly unknown[]): (string | null)[] {
  const parser = require.resolve('@apidevtools/swagger-parser');
  const child = spawnSync(process.execPath, ['--no-warnings', '-e', SCRIPT, parser], { input: JSON.stringify(docs), encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`swagger validator failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout) as (string | null)[];
}
