// solc-js ships no type declarations; this is the part of its API the upload compiler uses
// (copied from e2e/src/types/solc.d.ts, plus the callbacks argument of compile).
declare module 'solc' {
  export interface ImportResult {
    contents?: string;
    error?: string;
  }
  export function compile(input: string, callbacks?: { import?: (path: string) => ImportResult }): string;
  export function version(): string;
}
