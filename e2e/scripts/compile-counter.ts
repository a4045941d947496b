// Re-generates e2e/src/fixtures/counter.json from Counter.sol. Run after editing the source:
//   node -r @swc-node/register e2e/scripts/compile-counter.ts
// fixtures.spec.ts re-compiles and compares, so the committed fixture cannot drift from the source.
import { writeFileSync } from 'node:fs';
import { COUNTER_FIXTURE, compileCounter } from '../src/support/compile-counter';

const out = compileCounter();
writeFileSync(COUNTER_FIXTURE, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${COUNTER_FIXTURE} (${(out.bytecode.length - 2) / 2} bytes of creation code, solc ${out.compiler})`);
