import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync, zipSync } from 'fflate';
import { file, GREETER, postForm, SAFE_ADD, startUploadServer, TOKEN, type UploadServer } from './upload.spec-support';

const enc = (text: string) => new TextEncoder().encode(text);

/** A .tar.gz made by the system's GNU tar from `files` (path -> content), in the given format. */
function tarGz(files: Record<string, string>, format: 'gnu' | 'pax' | 'ustar' = 'gnu', extraArgs: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'upload-tar-'));
  try {
    mkdirSync(join(dir, 'src'));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, 'src', path)), { recursive: true });
      writeFileSync(join(dir, 'src', path), content);
    }
    execFileSync('tar', [`--format=${format}`, '-czf', join(dir, 'out.tar.gz'), '-C', join(dir, 'src'), ...extraArgs, ...Object.keys(files)]);
    return new Uint8Array(readFileSync(join(dir, 'out.tar.gz')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('archives in POST /abis uploads', () => {
  let server: UploadServer;
  beforeAll(async () => {
    server = await startUploadServer({ maxBytes: 256 * 1024, maxFiles: 20 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const upload = (name: string, data: Uint8Array, fields: Record<string, string> = {}, query = '') => {
    const form = new FormData();
    form.append('files', ...file(name, data));
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return postForm(server, form, query);
  };

  it('compiles a zip whose contract imports a file in a sub-folder, with source naming the contract file', async () => {
    const zip = zipSync({ 'contracts/Token.sol': enc(TOKEN), 'contracts/lib/SafeAdd.sol': enc(SAFE_ADD), 'README.md': enc('# token') });
    const { status, body } = await upload('token.zip', zip, { source: 'contracts/Token.sol' });
    expect(body.error).toBeUndefined();
    expect(status).toBe(200);
    expect(body.upload).toMatchObject({ name: 'Token', deployable: true });
    expect(body.upload?.['bytecode']).toMatch(/^0x6080/);
  });

  it('finds package imports (@scope/...) under node_modules/ in the upload, as a zipped hardhat project has them', async () => {
    const uses = `// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\nimport "@acme/math/SafeAdd.sol";\ncontract Uses { function two() external pure returns (uint256) { return SafeAdd.add(1, 1); } }\n`;
    const zip = zipSync({ 'Uses.sol': enc(uses), 'node_modules/@acme/math/SafeAdd.sol': enc(SAFE_ADD) });
    const { status, body } = await upload('project.zip', zip, { findcontracts: '' });
    expect(body.error).toBeUndefined();
    expect(status).toBe(200);
    expect(body.contracts).toEqual(['@acme/math/SafeAdd.sol:SafeAdd', 'Uses.sol:Uses']);
  });

  it('without source, says no .sol is at the root and lists where they are', async () => {
    const zip = zipSync({ 'contracts/Token.sol': enc(TOKEN), 'contracts/lib/SafeAdd.sol': enc(SAFE_ADD) });
    const { status, body } = await upload('token.zip', zip);
    expect(status).toBe(400);
    expect(body.error).toBe(`No .sol files found in the root of the upload: set 'source' to the relative path of your Solidity file (contracts/Token.sol, contracts/lib/SafeAdd.sol)`);
  });

  it('refuses a source that is not in the upload', async () => {
    const zip = zipSync({ 'contracts/Token.sol': enc(TOKEN) });
    const { status, body } = await upload('token.zip', zip, { source: 'Token.sol' });
    expect(status).toBe(400);
    expect(body.error).toBe(`'source' names 'Token.sol', which is not in the upload: set it to the path of a .sol file in the upload (contracts/Token.sol)`);
  });

  it('compiles a .tar.gz made by GNU tar, taking source from the query string', async () => {
    const tgz = tarGz({ 'contracts/Token.sol': TOKEN, 'contracts/lib/SafeAdd.sol': SAFE_ADD });
    const { status, body } = await upload('token.tar.gz', tgz, {}, '?source=contracts/Token.sol');
    expect(status).toBe(200);
    expect(body.upload?.['name']).toBe('Token');
  });

  it.each(['gnu', 'pax'] as const)('reads paths over 100 characters from a %s tar (long-name entries)', async (format) => {
    const deep = `${'very-long-folder-name/'.repeat(6)}Greeter.sol`;
    expect(deep.length).toBeGreaterThan(100);
    const { body } = await upload('deep.tgz', tarGz({ [deep]: GREETER, 'Root.sol': GREETER }, format), {}, '?findsolidity');
    expect(body).toEqual({ kind: 'find-solidity', files: [deep, 'Root.sol'].sort() });
  });

  it('reads a pax path record holding multi-byte UTF-8 (record lengths count bytes)', async () => {
    const path = `${'ü'.repeat(40)}/Grüße.sol`;
    const { body } = await upload('utf8.tgz', tarGz({ [path]: GREETER }, 'pax'), {}, '?findsolidity');
    expect(body.files).toEqual([path]);
  });

  it('answers findsolidity and findcontracts across a zip and a loose file', async () => {
    const form = new FormData();
    form.append('files', ...file('lib.zip', zipSync({ 'lib/SafeAdd.sol': enc(SAFE_ADD) })));
    form.append('files', ...file('Greeter.sol', GREETER));
    expect((await postForm(server, form, '?findsolidity')).body.files).toEqual(['Greeter.sol', 'lib/SafeAdd.sol']);
    form.append('source', 'Greeter.sol');
    form.append('source', 'lib/SafeAdd.sol');
    expect((await postForm(server, form, '?findcontracts')).body.contracts).toEqual(['Greeter.sol:Greeter', 'lib/SafeAdd.sol:SafeAdd']);
  });

  it('leaves out macOS metadata (__MACOSX/, ._ AppleDouble files) that would look like sources', async () => {
    const zip = zipSync({ 'Greeter.sol': enc(GREETER), '__MACOSX/._Greeter.sol': new Uint8Array([0, 5, 22, 7]), '._Greeter.sol': new Uint8Array([0, 5, 22, 7]) });
    const { status, body } = await upload('mac.zip', zip);
    expect(status).toBe(200);
    expect(body.upload?.['name']).toBe('Greeter');
  });

  it('refuses an entry leaving the archive with ..', async () => {
    const { status, body } = await upload('evil.zip', zipSync({ '../evil.sol': enc(GREETER) }));
    expect(status).toBe(400);
    expect(body.error).toBe(`'evil.zip' holds a path leaving the archive ('../evil.sol'): archive the files with paths relative to your project folder, without '..'`);
  });

  it('refuses an absolute path in a tar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upload-abs-'));
    try {
      writeFileSync(join(dir, 'Abs.sol'), GREETER);
      const { status, body } = await upload('abs.tgz', tarGz({}, 'gnu', ['-P', join(dir, 'Abs.sol')]));
      expect(status).toBe(400);
      expect(body.error).toBe(`'abs.tgz' holds an absolute path ('${join(dir, 'Abs.sol')}'): archive the files with paths relative to your project folder`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a symbolic link in a tar, saying how to archive the file itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upload-link-'));
    try {
      writeFileSync(join(dir, 'Real.sol'), GREETER);
      symlinkSync('Real.sol', join(dir, 'Link.sol'));
      execFileSync('tar', ['-czf', join(dir, 'out.tgz'), '-C', dir, 'Real.sol', 'Link.sol']);
      const { status, body } = await upload('links.tgz', new Uint8Array(readFileSync(join(dir, 'out.tgz'))));
      expect(status).toBe(400);
      expect(body.error).toBe(`'links.tgz' holds a link ('Link.sol'): archive the file itself (tar -h follows symbolic links)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses two files landing on the same path', async () => {
    const form = new FormData();
    form.append('files', ...file('Greeter.sol', GREETER));
    form.append('files', ...file('g.zip', zipSync({ 'Greeter.sol': enc(GREETER) })));
    const { status, body } = await postForm(server, form);
    expect(status).toBe(400);
    expect(body.error).toBe(`Two uploaded files are both 'Greeter.sol' (one from 'g.zip'): rename one or upload it once`);
  });

  it('stops a zip and a .tar.gz that inflate past the unpack budget (10 × maxBytes)', async () => {
    const zeros = new Uint8Array(3 * 1024 * 1024);
    const bomb = zipSync({ 'Bomb.sol': zeros }, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const zipped = await upload('bomb.zip', bomb);
    expect(zipped.status).toBe(413);
    expect(zipped.body.error).toBe(`'bomb.zip' unpacks to more than the upload allows: upload only the sources the contract needs`);

    const tgz = tarGz({ 'Bomb.sol': '\0'.repeat(3 * 1024 * 1024) });
    const gz = await upload('bomb.tar.gz', tgz);
    expect(gz.status).toBe(413);
  });

  it('refuses archives that are not what their name says, and formats we do not read', async () => {
    const notZip = await upload('x.zip', enc('not a zip at all'));
    expect(notZip.status).toBe(400);
    expect(notZip.body.error).toMatch(/^'x\.zip' is not a valid zip archive \(.+\): upload a zip made by a zip tool, or a \.tar\.gz$/);

    const notGzip = await upload('x.tar.gz', enc('not gzip'));
    expect(notGzip.body.error).toMatch(/^'x\.tar\.gz' is not a valid gzip file \(.+\): create it with 'tar -czf x\.tar\.gz <files>'$/);

    const gzNotTar = await upload('x.tgz', gzipSync(enc('x'.repeat(600))));
    expect(gzNotTar.body.error).toMatch(/^'x\.tgz' is not a valid tar archive \(header checksum mismatch at byte 0\)/);

    const rar = await upload('x.rar', enc('Rar!'));
    expect(rar.body.error).toBe(`'x.rar': .rar archives are not supported: upload a .zip or a .tar.gz`);
  });

  it('counts archive entries against maxFiles', async () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`F${i}.sol`, enc('contract F {}')]));
    const { status, body } = await upload('many.zip', zipSync(many));
    expect(status).toBe(413);
    expect(body.error).toBe(`The upload holds more than 20 files (archive entries included): upload only the sources the contract needs`);
  });
});
