import { buildSwagger, type BuildSwaggerOptions } from './build-swagger';
import { FIREFLY_PREFIX } from './common-parameters';
import { COMPLEX_ABI, ERC20_ABI } from './fixtures.test-helper';
import type { SwaggerDocument, SwaggerOperation, SwaggerParameter, SwaggerSchema } from './swagger-types';
import { validateSwagger } from './swagger-validator.test-helper';

const ADDRESS = '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984';

function build(overrides: Partial<BuildSwaggerOptions> = {}): SwaggerDocument {
  return buildSwagger({ abi: ERC20_ABI, kind: 'abi', title: 'ERC20', host: 'gateway.example:8080', basePath: '/abis/0b6e2e1c', ...overrides });
}

/** Every operation of a document by operationId. */
function operations(doc: SwaggerDocument): Map<string, { path: string; method: string; op: SwaggerOperation }> {
  const result = new Map<string, { path: string; method: string; op: SwaggerOperation }>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as [string, SwaggerOperation][]) result.set(op.operationId, { path, method, op });
  }
  return result;
}

function op(doc: SwaggerDocument, operationId: string): SwaggerOperation {
  const found = operations(doc).get(operationId);
  if (!found) throw new Error(`no operation ${operationId}`);
  return found.op;
}

/** The operation's parameters with `#/parameters/*` references resolved. */
function params(doc: SwaggerDocument, operationId: string): SwaggerParameter[] {
  return op(doc, operationId).parameters.map((p) => ('$ref' in p ? doc.parameters[p.$ref.replace('#/parameters/', '')] : p));
}

const names = (doc: SwaggerDocument, operationId: string) => params(doc, operationId).map((p) => p.name);

function definition(doc: SwaggerDocument, name: string): SwaggerSchema {
  const schema = doc.definitions[name];
  if (!schema) throw new Error(`no definition ${name}`);
  return schema;
}

const KLD_GET = ['kld-id', 'kld-from', 'kld-ethvalue', 'kld-gas', 'kld-gasprice', 'kld-blocknumber', 'kld-transaction'];
const KLD_POST = ['kld-id', 'kld-from', 'kld-ethvalue', 'kld-gas', 'kld-gasprice', 'kld-sync', 'kld-call', 'kld-privatefrom', 'kld-privatefor', 'kld-blocknumber', 'kld-acktype'];

describe('buildSwagger', () => {
  it('produces documents swagger-parser accepts for every shape, and the validator does reject a broken one', () => {
    const docs = [
      build(),
      build({ kind: 'contract', basePath: '/contracts/erc20' }),
      build({ factoryOnly: true }),
      build({ noauth: true, schemes: ['https'] }),
      build({ deployable: false }),
      build({ prefix: FIREFLY_PREFIX, defaultFrom: ADDRESS, deploymentId: 'u0abc', registeredName: 'erc20', privacyGroupId: true }),
      build({ abi: COMPLEX_ABI, devdoc: { details: 'complex', methods: { 'mixed(address,uint256,bytes)': { details: 'adds', params: { named: 'a number' } } } } }),
      build({ abi: COMPLEX_ABI, kind: 'contract', basePath: '/contracts/0x1f9840a85d5af5bf1d1762f925bdaddc4201f984', host: undefined }),
      build({ abi: [] }),
    ];
    const broken = structuredClone(docs[0]) as unknown as { paths: Record<string, { post: { parameters: unknown[] } }> };
    broken.paths['/{address}/transfer'].post.parameters.shift(); // drops the {address} path parameter

    const results = validateSwagger([...docs, broken]);
    expect(results.slice(0, docs.length)).toEqual(docs.map(() => null));
    expect(results[docs.length]).toMatch(/missing path parameter/);
  });

  describe('factory document of an uploaded ABI (kind abi)', () => {
    const doc = build();

    it('has the ethconnect paths and operationIds', () => {
      const ops = [...operations(doc)].map(([id, { path, method }]) => `${method.toUpperCase()} ${path} ${id}`);
      expect(ops).toEqual([
        'POST / constructor_post',
        'POST /{address} registerAddress',
        'GET /{address}/name name_get',
        'POST /{address}/name name_post',
        'GET /{address}/totalSupply totalSupply_get',
        'POST /{address}/totalSupply totalSupply_post',
        'GET /{address}/balanceOf balanceOf_get',
        'POST /{address}/balanceOf balanceOf_post',
        'GET /{address}/transfer transfer_get',
        'POST /{address}/transfer transfer_post',
        'GET /{address}/approve approve_get',
        'POST /{address}/approve approve_post',
        'POST /{address}/Transfer/subscribe Transfer_subscribe_all',
        'POST /Transfer/subscribe Transfer_subscribe',
        'POST /{address}/Approval/subscribe Approval_subscribe_all',
        'POST /Approval/subscribe Approval_subscribe',
      ]);
    });

    it('carries swagger 2.0 header fields, host, basePath and default schemes', () => {
      expect(doc).toMatchObject({ swagger: '2.0', info: { title: 'ERC20', version: '1.0' }, host: 'gateway.example:8080', basePath: '/abis/0b6e2e1c', schemes: ['http', 'https'] });
      expect(doc.consumes).toEqual(['application/json', 'application/x-yaml']);
      expect(doc.produces).toEqual(['application/json']);
      expect(doc.info.description).toBeUndefined();
    });

    it('summarises with the signature, [read only] for view/pure and [event] for events', () => {
      expect(op(doc, 'balanceOf_get').summary).toBe('balanceOf(address) [read only]');
      expect(op(doc, 'balanceOf_post').summary).toBe('balanceOf(address) [read only]');
      expect(op(doc, 'transfer_post').summary).toBe('transfer(address,uint256)');
      expect(op(doc, 'constructor_post').summary).toBe('constructor(uint256)');
      expect(op(doc, 'Transfer_subscribe').summary).toBe('Transfer(address,address,uint256) [event]');
    });

    it('GET: address path param, the inputs as required string query params, then the GET special params', () => {
      const p = params(doc, 'transfer_get');
      expect(p.map((x) => x.name)).toEqual(['address', 'to', 'value', ...KLD_GET]);
      expect(p.slice(0, 3).map((x) => [x.in, x.required, 'type' in x && x.type])).toEqual([
        ['path', true, 'string'],
        ['query', true, 'string'],
        ['query', true, 'string'],
      ]);
      expect(p.slice(3).every((x) => x.in === 'query' && !x.required)).toBe(true);
      expect(p[2].description).toBe('uint256');
    });

    it('POST: body schema <method>_inputs plus the POST special params; the constructor adds register', () => {
      expect(names(doc, 'transfer_post')).toEqual(['address', 'body', ...KLD_POST]);
      expect(params(doc, 'transfer_post')[1]).toEqual({ name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/transfer_inputs' } });
      expect(names(doc, 'constructor_post')).toEqual(['body', ...KLD_POST, 'kld-register']);
      expect(names(doc, 'registerAddress')).toEqual(['address', 'kld-register', 'body']);
      expect(names(doc, 'Transfer_subscribe_all')).toEqual(['address', 'body']);
      expect(names(doc, 'Transfer_subscribe')).toEqual(['body']);
    });

    it('shared parameters: ethconnect names and types with the kld prefix, header x-kaleido-*, sync defaulting to true', () => {
      expect(Object.keys(doc.parameters).sort()).toEqual(
        ['acktypeParam', 'blocknumberParam', 'callParam', 'fromParam', 'gasParam', 'gaspriceParam', 'idParam', 'privacyGroupIdParam', 'privateForParam', 'privateFromParam', 'registerParam', 'syncParam', 'transactionParam', 'valueParam'].sort(),
      );
      expect(doc.parameters.fromParam).toMatchObject({ name: 'kld-from', in: 'query', type: 'string', required: false });
      expect(doc.parameters.fromParam.description).toContain('(header: x-kaleido-from)');
      expect(doc.parameters.fromParam.default).toBeUndefined();
      expect(doc.parameters.valueParam).toMatchObject({ name: 'kld-ethvalue', type: 'integer', allowEmptyValue: true });
      expect(doc.parameters.syncParam).toMatchObject({ name: 'kld-sync', type: 'boolean', default: true });
      expect(doc.parameters.callParam).toMatchObject({ name: 'kld-call', type: 'boolean' });
      expect(doc.parameters.privacyGroupIdParam.name).toBe('kld-privacygroupid');
      for (const p of Object.values(doc.parameters)) expect(p.description).toContain(`(header: x-kaleido-${p.name.slice('kld-'.length)})`);
    });

    it('definitions: inputs (all required), outputs with unnamed output, events, error and the response shapes', () => {
      expect(definition(doc, 'transfer_inputs')).toEqual({
        type: 'object',
        required: ['to', 'value'],
        properties: {
          to: { description: 'address', type: 'string', pattern: '^(0x)?[a-fA-F0-9]{40}$' },
          value: { description: 'uint256', type: 'string', pattern: '^-?[0-9]+$' },
        },
      });
      expect(definition(doc, 'transfer_outputs')).toEqual({ type: 'object', properties: { output: { description: 'bool', type: 'boolean' } } });
      expect(definition(doc, 'name_inputs')).toEqual({ type: 'object', properties: {} });
      expect(Object.keys(definition(doc, 'Transfer_event').properties ?? {})).toEqual(['from', 'to', 'value']);
      expect(definition(doc, 'error').properties?.error).toMatchObject({ type: 'string' });
      expect(definition(doc, 'asyncResponse')).toMatchObject({ required: ['sent', 'id'], properties: { sent: { type: 'boolean' }, id: { type: 'string' } } });
      expect(definition(doc, 'receipt').properties).toHaveProperty('transactionHash');
      expect(definition(doc, 'constructor_inputs').required).toEqual(['initialSupply']);
    });

    it('responses: outputs for calls, receipt (200) / async ack (202) for transactions, error as default', () => {
      expect(op(doc, 'balanceOf_get').responses).toEqual({
        200: { description: 'successful response', schema: { $ref: '#/definitions/balanceOf_outputs' } },
        default: { description: 'error', schema: { $ref: '#/definitions/error' } },
      });
      expect(op(doc, 'balanceOf_post').responses[200].schema).toEqual({ $ref: '#/definitions/balanceOf_outputs' });
      expect(op(doc, 'balanceOf_post').responses[202]).toBeUndefined();
      expect(op(doc, 'transfer_get').responses[200].schema).toEqual({ $ref: '#/definitions/transfer_outputs' });
      const tx = op(doc, 'transfer_post').responses;
      expect([tx[200].schema, tx[202].schema, tx.default.schema]).toEqual([{ $ref: '#/definitions/receipt' }, { $ref: '#/definitions/asyncResponse' }, { $ref: '#/definitions/error' }]);
      expect(op(doc, 'constructor_post').responses[202].schema).toEqual({ $ref: '#/definitions/asyncResponse' });
      expect(op(doc, 'registerAddress').responses[201].schema).toEqual({ $ref: '#/definitions/contractInfo' });
      expect(op(doc, 'Transfer_subscribe').responses[200].schema).toEqual({ $ref: '#/definitions/subscription' });
    });

    it('declares basic auth KaleidoAppCredential and requires it on every operation', () => {
      expect(doc.securityDefinitions).toEqual({ KaleidoAppCredential: { type: 'basic' } });
      for (const { op: o } of operations(doc).values()) expect(o.security).toEqual([{ KaleidoAppCredential: [] }]);
    });
  });

  it('instance document (kind contract): methods and events at the root, no constructor, register or {address}', () => {
    const doc = build({ kind: 'contract', basePath: '/contracts/erc20', factoryOnly: true });
    expect(Object.keys(doc.paths)).toEqual(['/name', '/totalSupply', '/balanceOf', '/transfer', '/approve', '/Transfer/subscribe', '/Approval/subscribe']);
    expect(names(doc, 'balanceOf_get')).toEqual(['account', ...KLD_GET]);
    expect(names(doc, 'transfer_post')).toEqual(['body', ...KLD_POST]);
    expect(operations(doc).has('Transfer_subscribe_all')).toBe(false);
    expect(doc.definitions).not.toHaveProperty('constructor_inputs');
    expect(doc.basePath).toBe('/contracts/erc20');
  });

  it('factoryOnly: only the constructor', () => {
    const doc = build({ factoryOnly: true });
    expect(Object.keys(doc.paths)).toEqual(['/']);
    expect(op(doc, 'constructor_post').operationId).toBe('constructor_post');
    expect(doc.definitions).not.toHaveProperty('transfer_inputs');
  });

  it('not deployable: no constructor path, everything else stays', () => {
    const doc = build({ deployable: false });
    expect(doc.paths['/']).toBeUndefined();
    expect(doc.definitions).not.toHaveProperty('constructor_inputs');
    expect(doc.paths['/{address}']?.post?.operationId).toBe('registerAddress');
    expect(doc.paths['/{address}/transfer']).toBeDefined();
  });

  it('noauth drops the security definition and every requirement; schemes and host are taken as given', () => {
    const doc = build({ noauth: true, schemes: ['https'], host: undefined });
    expect(doc.securityDefinitions).toBeUndefined();
    expect(JSON.stringify(doc)).not.toContain('AppCredential');
    for (const { op: o } of operations(doc).values()) expect(o.security).toBeUndefined();
    expect(doc.schemes).toEqual(['https']);
    expect(doc).not.toHaveProperty('host');
  });

  it('fly/firefly prefix, default from, info extensions and privacyGroupId', () => {
    const doc = build({ prefix: FIREFLY_PREFIX, defaultFrom: ADDRESS, deploymentId: 'u0abc', registeredName: 'erc20', privacyGroupId: true });
    expect(names(doc, 'transfer_post')).toEqual(['address', 'body', ...KLD_POST.map((n) => n.replace('kld-', 'fly-')), 'fly-privacygroupid']);
    expect(names(doc, 'constructor_post').slice(-2)).toEqual(['fly-privacygroupid', 'fly-register']);
    expect(names(doc, 'transfer_get')).not.toContain('fly-privacygroupid');
    expect(doc.parameters.fromParam).toMatchObject({ name: 'fly-from', default: ADDRESS });
    expect(doc.parameters.fromParam.description).toContain('x-firefly-from');
    expect(JSON.stringify(doc.parameters)).not.toMatch(/kld|kaleido/);
    expect(doc.info).toEqual({ title: 'ERC20', version: '1.0', 'x-firefly-deployment-id': 'u0abc', 'x-firefly-registered-name': 'erc20' });
    expect(doc.securityDefinitions).toEqual({ FireflyAppCredential: { type: 'basic' } });
  });

  it('prefixes are lower-cased as ethconnect does with PREFIX_SHORT/PREFIX_LONG', () => {
    const doc = build({ prefix: { short: 'FLY', long: 'FireFly' }, deploymentId: 'u0abc' });
    expect(doc.parameters.syncParam).toMatchObject({ name: 'fly-sync', description: expect.stringContaining('(header: x-firefly-sync)') });
    expect(doc.info['x-firefly-deployment-id']).toBe('u0abc');
    expect(Object.keys(doc.securityDefinitions ?? {})).toEqual(['FireflyAppCredential']);
  });

  it('kld prefix info extensions use x-kaleido-*', () => {
    expect(build({ deploymentId: 'u0abc', registeredName: 'erc20' }).info).toMatchObject({ 'x-kaleido-deployment-id': 'u0abc', 'x-kaleido-registered-name': 'erc20' });
  });

  describe('ABI with tuples, arrays, bytes, unnamed arguments, overloads and a payable constructor', () => {
    const doc = build({ abi: COMPLEX_ABI, title: 'Complex' });

    it('tuples get their components as properties (ethconnect: bare object), nested and in arrays', () => {
      const order = definition(doc, 'submit_inputs').properties?.order;
      expect(order).toMatchObject({ description: '(uint256,address[],bytes32,(bool,bytes))', type: 'object', required: ['id', 'owners', 'tag', 'inner'] });
      expect(order?.properties?.owners).toEqual({ description: 'address[]', type: 'array', items: { type: 'string', pattern: '^(0x)?[a-fA-F0-9]{40}$' } });
      expect(order?.properties?.tag).toMatchObject({ type: 'string', pattern: '^(0x)?[a-fA-F0-9]{64}$' });
      expect(order?.properties?.inner).toEqual({
        description: '(bool,bytes)',
        type: 'object',
        required: ['ok', 'data'],
        properties: { ok: { description: 'bool', type: 'boolean' }, data: { description: 'bytes', type: 'string', pattern: '^(0x)?[a-fA-F0-9]+$' } },
      });
      const pairs = definition(doc, 'submit_inputs').properties?.pairs;
      expect(pairs).toMatchObject({ type: 'array', items: { type: 'object', required: ['k', 'v'], properties: { k: { pattern: '^(0x)?[a-fA-F0-9]{8}$' }, v: { pattern: '^-?[0-9]+$' } } } });
    });

    it('fixed-size arrays carry their length', () => {
      expect(definition(doc, 'submit_inputs').properties?.hashes).toEqual({ description: 'bytes32[3]', type: 'array', minItems: 3, maxItems: 3, items: { type: 'string', pattern: '^(0x)?[a-fA-F0-9]{64}$' } });
    });

    it('unnamed inputs/outputs are input, input<i> / output, output<i> by position', () => {
      expect(Object.keys(definition(doc, 'submit_outputs').properties ?? {})).toEqual(['output', 'output1']);
      expect(names(doc, 'get_get').slice(0, 2)).toEqual(['address', 'input']);
      expect(definition(doc, 'mixed_inputs').required).toEqual(['input', 'named', 'input2']);
      expect(names(doc, 'mixed_get').slice(1, 4)).toEqual(['input', 'named', 'input2']);
      expect(Object.keys(definition(doc, 'mixed_outputs').properties ?? {})).toEqual(['total', 'output1']);
      expect(definition(doc, 'constructor_inputs').required).toEqual(['label', 'input1']);
    });

    it('overloaded functions and events: only the first declaration is exposed', () => {
      expect(op(doc, 'get_get').summary).toBe('get(uint256) [read only]');
      expect(Object.keys(doc.paths).filter((p) => p.includes('get'))).toEqual(['/{address}/get']);
      expect(op(doc, 'Stored_subscribe').summary).toBe('Stored(uint256,bytes32,(address,uint256)) [event]');
      expect(Object.keys(definition(doc, 'Stored_event').properties ?? {})).toEqual(['id', 'tag', 't']);
    });

    it('pure is read only, payable is a transaction, fallback/receive have no path', () => {
      expect(op(doc, 'mixed_post').summary).toBe('mixed(address,uint256,bytes) [read only]');
      expect(op(doc, 'pay_post').summary).toBe('pay()');
      expect(op(doc, 'pay_post').responses[202]).toBeDefined();
      expect(Object.keys(doc.paths)).toEqual(['/', '/{address}', '/{address}/submit', '/{address}/get', '/{address}/mixed', '/{address}/pay', '/{address}/Stored/subscribe', '/Stored/subscribe']);
      expect(op(doc, 'constructor_post').summary).toBe('constructor(string,uint8)');
    });
  });

  it('devdoc: info description, method details, parameter and return descriptions; description option wins', () => {
    const devdoc = {
      details: 'An ERC-20 token',
      methods: {
        constructor: { details: 'Mints the supply', params: { initialSupply: 'tokens minted to the deployer' } },
        'transfer(address,uint256)': { details: 'Moves tokens', params: { to: 'recipient' }, returns: { _0: 'always true' } },
      },
      events: { 'Transfer(address,address,uint256)': { details: 'Tokens moved' } },
    };
    const doc = build({ devdoc });
    expect(doc.info.description).toBe('An ERC-20 token');
    expect(op(doc, 'transfer_post').description).toBe('Moves tokens');
    expect(op(doc, 'constructor_post').description).toBe('Mints the supply');
    expect(op(doc, 'Transfer_subscribe').description).toBe('Tokens moved');
    expect(op(doc, 'approve_post')).not.toHaveProperty('description');
    expect(definition(doc, 'transfer_inputs').properties?.to.description).toBe('address: recipient');
    expect(params(doc, 'transfer_get')[1].description).toBe('address: recipient');
    expect(definition(doc, 'transfer_outputs').properties?.output.description).toBe('bool: always true');
    expect(definition(doc, 'constructor_inputs').properties?.initialSupply.description).toBe('uint256: tokens minted to the deployer');
    expect(build({ devdoc, description: 'override' }).info.description).toBe('override');
  });

  it('returns an independent document each time (mutating one leaves the next intact)', () => {
    const first = build();
    first.definitions.error.properties = {};
    first.consumes.push('text/plain');
    (op(first, 'Transfer_subscribe').parameters[0] as { schema: { required?: string[] } }).schema.required = [];
    const second = build();
    expect(second.definitions.error.properties).toHaveProperty('error');
    expect(second.consumes).toEqual(['application/json', 'application/x-yaml']);
    expect(op(second, 'transfer_post').consumes).toEqual(['application/json', 'application/x-yaml']);
    expect(params(second, 'Transfer_subscribe')[0]).toMatchObject({ schema: { required: ['stream'] } });
  });

  it('refuses a basePath without a leading slash and an invalid ABI', () => {
    expect(() => build({ basePath: 'abis/x' })).toThrow(/basePath/);
    expect(() => build({ abi: [{ type: 'function', name: 'f', inputs: [{ name: 'x', type: 'uint7' }] }] })).toThrow();
  });
});
