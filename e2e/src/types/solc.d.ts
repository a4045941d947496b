// solc-js ships no type declarations; this is the part of its API the e2e fixture compiler uses.
declare module 'solc' {
  export function compile(input: string): string;
  export function version(): string;
}
