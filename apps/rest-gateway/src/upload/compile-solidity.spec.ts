import { BUNDLED_SOLC_VERSION, compileSolidity, listContracts } from './compile-solidity';
import { GREETER, SAFE_ADD, TOKEN, TWO_CONTRACTS } from './upload.spec-support';

const HEADER = '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n';

describe('compileSolidity (bundled solc-js, standard JSON)', () => {
  it('resolves imports from the uploaded set and keeps the contract of the compiled file over an imported library', async () => {
    const sources = { 'contracts/Token.sol': TOKEN, 'contracts/lib/SafeAdd.sol': SAFE_ADD, 'other/Unrelated.sol': 'this is not solidity' };
    const compiled = await compileSolidity(sources, { roots: ['contracts/Token.sol'] });
    expect(compiled.contractName).toBe('Token');
    expect(compiled.bytecode).toMatch(/^0x[0-9a-f]+$/);
    expect(compiled.compilerVersion.startsWith(`${BUNDLED_SOLC_VERSION}+commit.`)).toBe(true);
    // the imported file's library is in the output too, so findcontracts lists it
    expect(await listContracts(sources, { roots: ['contracts/Token.sol'] })).toEqual(['contracts/Token.sol:Token', 'contracts/lib/SafeAdd.sol:SafeAdd']);
  });

  it('keeps the concrete contract over an abstract one, and an interface alone as not deployable', async () => {
    const mixed = `${HEADER}abstract contract Base { function f() public virtual returns (uint256); }\ncontract Impl is Base { function f() public pure override returns (uint256) { return 1; } }\n`;
    expect((await compileSolidity({ 'M.sol': mixed })).contractName).toBe('Impl');

    const iface = await compileSolidity({ 'I.sol': `${HEADER}interface IThing { function thing() external view returns (uint256); }\n` });
    expect(iface).toMatchObject({ contractName: 'IThing', bytecode: '' });
    expect(iface.abi).toHaveLength(1);
  });

  it('says how to proceed when the code needs library linking', async () => {
    const src = `${HEADER}library L { function g(uint256 x) external pure returns (uint256) { return x + 1; } }\ncontract UsesL { function h() external pure returns (uint256) { return L.g(1); } }\n`;
    await expect(compileSolidity({ 'U.sol': src }, { contract: 'UsesL' })).rejects.toThrow(
      /^The compiled bytecode of U\.sol:UsesL has unlinked library placeholders .*: deploy the libraries first and send the linked bytecode/,
    );
  });

  it('matches a bare contract name across files only when it is unique', async () => {
    const sources = { 'a/X.sol': `${HEADER}contract X { uint256 public a; }\n`, 'b/X.sol': `${HEADER}contract X { uint256 public b; }\n` };
    await expect(compileSolidity(sources, { contract: 'X' })).rejects.toThrow(`'contract' = 'X' matches a/X.sol:X, b/X.sol:X: set 'contract' to one of them`);
    expect((await compileSolidity(sources, { contract: 'b/X.sol:X' })).abi).toEqual([expect.objectContaining({ name: 'b' })]);
  });

  it('shows the first 10 errors and counts the rest', async () => {
    const body = Array.from({ length: 12 }, (_, i) => `function f${i}() public { undefinedThing${i}(); }`).join('\n');
    const error = await compileSolidity({ 'E.sol': `${HEADER}contract E {\n${body}\n}\n` }).catch((e: Error) => e);
    expect((error as Error).message.match(/DeclarationError: Undeclared identifier/g)).toHaveLength(10);
    expect((error as Error).message.endsWith('(and 2 more errors)')).toBe(true);
  });

  it('compiles for the evm version asked for', async () => {
    const byDefault = await compileSolidity({ 'G.sol': GREETER });
    const paris = await compileSolidity({ 'G.sol': GREETER }, { evmVersion: 'paris' });
    expect(paris.bytecode).not.toBe(byDefault.bytecode); // cancun (the default) uses PUSH0; paris cannot
  });

  it.each([
    ['latest', /^'compiler' must be a solc version like 0\.8 \('latest' is not\): this gateway bundles solc 0\.8\.28/],
    ['0.6.12', /^'compiler' asks for solc 0\.6, but this gateway bundles solc 0\.8\.28 only/],
    ['v0.8.20', null],
  ])('checks compiler=%s against the bundled 0.8', async (compilerVersion, error) => {
    const result = compileSolidity({ 'T.sol': TWO_CONTRACTS }, { compilerVersion, contract: 'A' });
    if (error) await expect(result).rejects.toThrow(error);
    else expect((await result).contractName).toBe('A');
  });
});
