import { Interface } from 'ethers';
import { file, GREETER, postBody, postForm, rawMultipart, SET_ABI, startUploadServer, streamUntilAnswered, TWO_CONTRACTS, type UploadServer } from './upload.spec-support';

const MAX_BYTES = 256 * 1024;

describe('parseAbiUpload (POST /abis through a real HTTP server)', () => {
  let server: UploadServer;
  beforeAll(async () => {
    server = await startUploadServer({ maxBytes: MAX_BYTES, maxFiles: 5 });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('abi + bytecode form fields (no compilation)', () => {
    it('keeps the ABI and the bytecode with its leading zeros (no TrimLeft("0x") quirk), deployable', async () => {
      const form = new FormData();
      form.set('abi', JSON.stringify(SET_ABI));
      form.set('bytecode', '0x00600A');
      form.set('name', 'Setter');
      form.set('description', 'sets a value');
      const { status, body } = await postForm(server, form);
      expect(status).toBe(200);
      expect(body).toEqual({
        kind: 'abi',
        upload: { name: 'Setter', description: 'sets a value', abi: SET_ABI, bytecode: '0x00600a', devdoc: null, compilerVersion: null, deployable: true },
      });
    });

    it('takes bytecode without 0x, and the name from the query string when the form has none', async () => {
      const form = new FormData();
      form.set('abi', JSON.stringify(SET_ABI));
      form.set('bytecode', '6080');
      const { body } = await postForm(server, form, '?name=FromQuery&description=q');
      expect(body.upload).toMatchObject({ name: 'FromQuery', description: 'q', bytecode: '0x6080' });
    });

    it('lets a form field win over the same query-string value (Go req.Form order)', async () => {
      const form = new FormData();
      form.set('abi', JSON.stringify(SET_ABI));
      form.set('name', 'FromForm');
      const { body } = await postForm(server, form, '?name=FromQuery');
      expect(body.upload?.['name']).toBe('FromForm');
    });

    it('stores an ABI without bytecode as not deployable (ethconnect would try to compile and fail)', async () => {
      const form = new FormData();
      form.set('abi', JSON.stringify(SET_ABI));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(200);
      expect(body.upload).toEqual({ name: 'Contract', description: '', abi: SET_ABI, bytecode: '', devdoc: null, compilerVersion: null, deployable: false });
    });

    it.each([
      ['not hex', '0xzz12', /is not hex \(character 'z' at 0\)/],
      ['odd length', '0x123', /odd number of hex digits \(3\)/],
      ['unlinked library', `0x6080${'__$1234567890abcdef1234567890abcdef12$__'}`, /unlinked library placeholders/],
      ['0x twice', '0x0x6080', /is not hex \(character 'x' at 1\)/],
    ])('refuses bytecode that is %s with a 400 saying what to send', async (_case, bytecode, message) => {
      const form = new FormData();
      form.set('abi', JSON.stringify(SET_ABI));
      form.set('bytecode', bytecode);
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.code).toBe('FFEC100111');
      expect(body.error).toMatch(message);
    });

    it.each([
      ['not JSON', '[{"type":"function",', /^The 'abi' field is not valid JSON \(.+\): send the contract's ABI as the form field 'abi' \(JSON\) with 'bytecode', or upload \.sol sources$/],
      ['a JSON object', '{"type":"function"}', /is not a JSON array of ABI entries/],
      ['a whole artifact', JSON.stringify({ contractName: 'X', abi: SET_ABI }), /holds a JSON object with an 'abi' member.*send only its 'abi' array/],
      ['an entry with a bad type', JSON.stringify([{ type: 'function', name: 'f', inputs: [{ type: 'uint257' }], outputs: [] }]), /^Entry 0 of the 'abi' field is not a valid ABI entry \(invalid numeric width\)/],
      ['a human-readable entry', JSON.stringify(['function f()']), /Entry 0 .* \(an ABI entry is a JSON object\)/],
    ])('refuses an abi field that is %s', async (_case, abi, message) => {
      const form = new FormData();
      form.set('abi', abi);
      form.set('bytecode', '0x6080');
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.code).toBe('FFEC100111');
      expect(body.error).toMatch(message);
    });

    it('reads abi and bytecode sent as files (curl -F abi=@Token.abi -F bytecode=@Token.bin), trailing newline and all', async () => {
      const form = new FormData();
      form.append('abi', ...file('Token.abi', JSON.stringify(SET_ABI)));
      form.append('bytecode', ...file('Token.bin', '6080604052\n'));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(200);
      expect(body.upload).toMatchObject({ abi: SET_ABI, bytecode: '0x6080604052', deployable: true });
    });

    it('refuses bytecode without abi', async () => {
      const form = new FormData();
      form.set('bytecode', '0x6080');
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.error).toMatch(/'bytecode' was sent without 'abi'/);
    });
  });

  describe('application/json bodies (our extension)', () => {
    it.each([
      ['{abi, bytecode, name, description}', { abi: SET_ABI, bytecode: '0x6080', name: 'N', description: 'D' }, { name: 'N', description: 'D', bytecode: '0x6080', deployable: true }],
      ['a hardhat artifact', { contractName: 'Setter', abi: SET_ABI, bytecode: '0x6080', deployedBytecode: '0x60' }, { name: 'Setter', bytecode: '0x6080', deployable: true }],
      ['a foundry artifact', { abi: SET_ABI, bytecode: { object: '0x6080', linkReferences: {} }, metadata: { compiler: { version: '0.8.26+commit.8a97fa7a' } } }, { name: 'Contract', bytecode: '0x6080', compilerVersion: '0.8.26+commit.8a97fa7a' }],
      ['solc standard-JSON output', { abi: SET_ABI, evm: { bytecode: { object: '6080' } }, devdoc: { details: 'from devdoc', kind: 'dev', methods: {}, version: 1 } }, { bytecode: '0x6080', description: 'from devdoc', devdoc: '{"details":"from devdoc","kind":"dev","methods":{},"version":1}' }],
      ['an ABI alone', { abi: SET_ABI }, { bytecode: '', deployable: false }],
      ['a bare ABI array', SET_ABI, { bytecode: '', deployable: false, abi: SET_ABI }],
      ['an interface artifact (bytecode "0x")', { contractName: 'IFoo', abi: SET_ABI, bytecode: '0x' }, { name: 'IFoo', bytecode: '', deployable: false }],
    ])('takes %s', async (_case, json, expected) => {
      const { status, body } = await postBody(server, JSON.stringify(json), 'application/json; charset=utf-8');
      expect(status).toBe(200);
      expect(body.kind).toBe('abi');
      expect(body.upload).toMatchObject({ abi: SET_ABI, ...expected });
    });

    it('fills name from the query string when the JSON has none', async () => {
      const { body } = await postBody(server, JSON.stringify({ abi: SET_ABI }), 'application/json', '?name=Q');
      expect(body.upload?.['name']).toBe('Q');
    });

    it.each([
      ['not JSON', '{"abi": [', /^The body is not valid JSON/],
      ['JSON without abi', '{"bytecode":"0x6080"}', /^The JSON body has no 'abi'/],
      ['bad bytecode', JSON.stringify({ abi: SET_ABI, bytecode: 'nothex' }), /^The JSON 'bytecode' is not hex/],
      ['a bad ABI', JSON.stringify({ abi: [{ type: 'nonsense' }] }), /^Entry 0 of the JSON 'abi' is not a valid ABI entry \(unsupported type: nonsense\)/],
    ])('refuses %s with a 400', async (_case, raw, message) => {
      const { status, body } = await postBody(server, raw, 'application/json');
      expect(status).toBe(400);
      expect(body.code).toBe('FFEC100111');
      expect(body.error).toMatch(message);
    });

    it('refuses other content types, naming the two it takes', async () => {
      const { status, body } = await postBody(server, 'hello', 'text/plain');
      expect(status).toBe(400);
      expect(body.error).toMatch(/takes multipart\/form-data .* or application\/json .* not 'text\/plain'/);
    });
  });

  describe('.sol uploads compiled with the bundled solc', () => {
    it('compiles a contract with a constructor argument, keeps its NatSpec @dev as devdoc and description', async () => {
      const form = new FormData();
      form.append('files', ...file('Greeter.sol', GREETER));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(200);
      const upload = body.upload as Record<string, unknown>;
      expect(upload).toMatchObject({ name: 'Greeter', description: 'Keeps one greeting, set at deployment.', deployable: true });
      expect(upload['compilerVersion']).toMatch(/^0\.8\.28\+commit\./);
      expect(upload['bytecode']).toMatch(/^0x6080604052[0-9a-f]+$/);
      const iface = new Interface(upload['abi'] as never);
      expect(iface.deploy.inputs.map((i) => `${i.type} ${i.name}`)).toEqual(['string initial']);
      expect(iface.getFunction('set')?.inputs.map((i) => i.type)).toEqual(['string']);
      const devdoc = JSON.parse(upload['devdoc'] as string);
      expect(devdoc).toMatchObject({ details: 'Keeps one greeting, set at deployment.', title: 'Greeter', methods: { constructor: { details: 'Sets the first greeting.', params: { initial: 'the greeting to start with' } } } });
    });

    it('asks for contract when the sources hold two, listing the choices, and keeps the one named', async () => {
      const form = new FormData();
      form.append('files', ...file('Two.sol', TWO_CONTRACTS));
      const ambiguous = await postForm(server, form);
      expect(ambiguous.status).toBe(400);
      expect(ambiguous.body.error).toBe(`The sources compile to more than one contract: set 'contract' to one of Two.sol:A, Two.sol:B (solc combined form path/File.sol:Name)`);

      form.set('contract', 'Two.sol:B');
      const chosen = await postForm(server, form);
      expect(chosen.status).toBe(200);
      expect(chosen.body.upload?.['name']).toBe('B');
      expect(new Interface(chosen.body.upload?.['abi'] as never).getFunction('b')).not.toBeNull();

      form.set('contract', 'A');
      expect((await postForm(server, form)).body.upload?.['name']).toBe('A');

      form.set('contract', 'Two.sol:C');
      const unknown = await postForm(server, form);
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toBe(`There is no contract 'Two.sol:C' in the compiled sources: set 'contract' to one of Two.sol:A, Two.sol:B`);
    });

    it('passes solc errors back trimmed, with their source locations', async () => {
      const form = new FormData();
      form.append('files', ...file('Broken.sol', 'pragma solidity ^0.8.0;\ncontract Broken { function f() public { uint x = ; } }\n'));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.code).toBe('FFEC100111');
      expect(body.error).toMatch(/^Failed to compile solidity: fix the source and upload it again:\nParserError: Expected primary expression\.\n --> Broken\.sol:2:50:/);
      expect(body.error).toBe(body.error?.trim());
      expect(body.error).not.toMatch(/Warning/); // warnings (no SPDX line here) are not errors
    });

    it('reports an import that is not in the upload', async () => {
      const form = new FormData();
      form.append('files', ...file('Uses.sol', 'pragma solidity ^0.8.0;\nimport "@openzeppelin/contracts/access/Ownable.sol";\ncontract Uses {}\n'));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.error).toContain(`Source "@openzeppelin/contracts/access/Ownable.sol" not found: '@openzeppelin/contracts/access/Ownable.sol' is not in the upload: upload it too`);
    });

    it('refuses a compiler other than the bundled 0.8, and an unknown evm version', async () => {
      const form = new FormData();
      form.append('files', ...file('Greeter.sol', GREETER));
      form.set('compiler', '0.7');
      const old = await postForm(server, form);
      expect(old.status).toBe(400);
      expect(old.body.error).toMatch(/^'compiler' asks for solc 0\.7, but this gateway bundles solc 0\.8\.28 only/);

      form.delete('compiler');
      const badEvm = await postForm(server, form, '?evm=frontier');
      expect(badEvm.status).toBe(400);
      expect(badEvm.body.error).toMatch(/^'evm' is not an EVM version solc 0\.8\.28 knows \('frontier'\): use one of homestead, .*, cancun, prague/);

      form.set('compiler', '0.8');
      form.set('evm', 'paris');
      const ok = await postForm(server, form);
      expect(ok.status).toBe(200);
      expect(ok.body.upload?.['name']).toBe('Greeter');
    });

    it('asks for sources when the form has neither .sol files nor abi', async () => {
      const form = new FormData();
      form.append('files', ...file('README.md', '# hello'));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(400);
      expect(body.error).toBe(`The upload has no .sol files and no 'abi': send the contract's ABI as the form field 'abi' (JSON) with 'bytecode', or upload .sol sources`);
    });

    it('answers findsolidity with the .sol files and findcontracts with file.sol:Name', async () => {
      const form = new FormData();
      form.append('files', ...file('Two.sol', TWO_CONTRACTS));
      form.append('files', ...file('Greeter.sol', GREETER));
      form.append('files', ...file('notes.txt', 'x'));
      expect((await postForm(server, form, '?findsolidity')).body).toEqual({ kind: 'find-solidity', files: ['Greeter.sol', 'Two.sol'] });
      form.set('findcontracts', '');
      expect((await postForm(server, form)).body).toEqual({ kind: 'find-contracts', contracts: ['Greeter.sol:Greeter', 'Two.sol:A', 'Two.sol:B'] });
    });
  });

  describe('file names and limits', () => {
    it.each([['sub/A.sol'], ['C:\\\\Users\\\\me\\\\A.sol'], ['a\\b.sol']])('refuses the file name %s (a directory structure comes as an archive)', async (name) => {
      const { body: raw, contentType } = rawMultipart([{ headers: `Content-Disposition: form-data; name="files"; filename="${name}"`, content: 'contract A {}' }]);
      const { status, body } = await postBody(server, raw, contentType);
      expect(status).toBe(400);
      expect(body.error).toMatch(/^File names cannot contain slashes \('.+'\): upload a \.zip or \.tar\.gz to send a directory structure$/);
    });

    it('refuses a slash given in an RFC 5987 filename* too', async () => {
      const { body: raw, contentType } = rawMultipart([{ headers: `Content-Disposition: form-data; name="files"; filename*=UTF-8''..%2FA.sol`, content: 'x' }]);
      const { status, body } = await postBody(server, raw, contentType);
      expect(status).toBe(400);
      expect(body.error).toContain(`('../A.sol')`);
    });

    it('reads an empty filename="" part as a field (a browser form with no file chosen), and refuses a malformed body', async () => {
      const noFile = rawMultipart([{ headers: `Content-Disposition: form-data; name="files"; filename=""`, content: '' }]);
      expect((await postBody(server, noFile.body, noFile.contentType)).body.error).toMatch(/^The upload has no \.sol files and no 'abi'/);
      const truncated = rawMultipart([{ headers: `Content-Disposition: form-data; name="abi"`, content: '[]' }]);
      const cut = await postBody(server, truncated.body.subarray(0, truncated.body.length - 10), truncated.contentType);
      expect(cut.status).toBe(400);
      expect(cut.body.error).toMatch(/^The multipart\/form-data body is malformed \(Unexpected end of form\)/);
      const noBoundary = await postBody(server, 'x', 'multipart/form-data');
      expect(noBoundary.body.error).toMatch(/^The multipart\/form-data body cannot be read \(Multipart: Boundary not found\)/);
    });

    it('stops reading a chunked body once it passes maxBytes and answers 413', async () => {
      const total = 64 * 1024 * 1024;
      const answer = await streamUntilAnswered(server, total);
      expect(answer.status).toBe(413);
      expect(answer.body.code).toBe('FFEC100061');
      expect(answer.body.error).toMatch(/^The upload is larger than 262144 bytes: upload only the sources/);
      // the server read the limit plus what was in flight, nowhere near the 64 MiB the client was ready to send
      expect(server.lastBytesRead()).toBeLessThan(MAX_BYTES + 2 * 1024 * 1024);
      expect(answer.written).toBeLessThan(total);
    });

    it('refuses a declared Content-Length over maxBytes before reading the body', async () => {
      const form = new FormData();
      form.append('files', ...file('Big.sol', 'a'.repeat(MAX_BYTES + 1)));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(413);
      expect(body.code).toBe('FFEC100061');
    });

    it('refuses more files than maxFiles', async () => {
      const form = new FormData();
      for (let i = 0; i < 6; i++) form.append('files', ...file(`F${i}.sol`, 'contract F {}'));
      const { status, body } = await postForm(server, form);
      expect(status).toBe(413);
      expect(body.error).toMatch(/^The upload has more than 5 files: put the sources into one \.zip or \.tar\.gz/);
    });
  });
});
