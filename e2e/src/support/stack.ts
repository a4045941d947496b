import { startStack, type Stack, type StackOptions } from '@hsm-signer/testing';

/**
 * Starts one whole stack for the enclosing test file (beforeAll) and stops it afterwards, so every
 * file pays the start-up cost once. Returns an accessor because the stack exists only after beforeAll.
 */
export function useStack(options: StackOptions): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    const started = Date.now();
    stack = await startStack(options);
    console.log(`stack started in ${Date.now() - started} ms (logs: ${stack.logDir})`);
  }, 240_000);
  afterAll(async () => {
    const started = Date.now();
    await stack?.stop();
    console.log(`stack stopped in ${Date.now() - started} ms`);
  }, 120_000);
  return () => {
    if (!stack) throw new Error('the stack did not start (see the beforeAll error above)');
    return stack;
  };
}

export const sortedLower = (addresses: readonly string[]): string[] => addresses.map((a) => a.toLowerCase()).sort();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
