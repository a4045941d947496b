import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestError, RestErrorCode } from '../errors';
import { parseBody, readBody, readRawBody } from './body';

const LIMIT = 1024;

function restErrorOf(f: () => unknown): RestError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(RestError);
    return error as RestError;
  }
  throw new Error('expected a RestError');
}

describe('parseBody', () => {
  const buf = (s: string) => Buffer.from(s, 'utf8');

  it('parses a JSON object', () => {
    expect(parseBody(buf('{"x": 1, "y": ["a"]}'), 'application/json')).toEqual({ x: 1, y: ['a'] });
  });

  it('parses JSON whatever the content type says when it is not YAML', () => {
    expect(parseBody(buf('{"x": "1"}'), undefined)).toEqual({ x: '1' });
    expect(parseBody(buf('{"x": "1"}'), 'text/plain')).toEqual({ x: '1' });
  });

  it('parses YAML when the content type says so', () => {
    for (const type of ['application/x-yaml', 'application/yaml', 'text/yaml', 'text/x-yaml; charset=utf-8', 'Application/X-YAML']) {
      expect(parseBody(buf('x: 1\nname: hello\n'), type)).toEqual({ x: 1, name: 'hello' });
    }
  });

  it('reads a YAML content type as YAML even when it is also JSON (YAML is a superset)', () => {
    expect(parseBody(buf('{"x": 1}'), 'application/x-yaml')).toEqual({ x: 1 });
  });

  it('falls back to YAML when JSON does not parse', () => {
    expect(parseBody(buf('to: "0xabc"\nvalues:\n  - 1\n  - 2\n'), 'application/json')).toEqual({ to: '0xabc', values: [1, 2] });
  });

  it('reads an empty or blank body as {}', () => {
    expect(parseBody(buf(''), 'application/json')).toEqual({});
    expect(parseBody(buf('  \n\t '), undefined)).toEqual({});
  });

  it('refuses a body that is neither JSON nor YAML with 400 FFEC100063', () => {
    const error = restErrorOf(() => parseBody(buf('{"x": [1, 2'), 'application/json'));
    expect(error.status).toBe(400);
    expect(error.code).toBe(RestErrorCode.BodyUnparsable);
    expect(error.code).toBe('FFEC100063');
    expect(error.message).toMatch(/JSON or YAML/);
    // The YAML parser's message is cut to its first line: no multi-line source excerpt in the body.
    expect(error.message).not.toContain('\n');
  });

  it('refuses YAML that does not parse, also under a YAML content type', () => {
    const error = restErrorOf(() => parseBody(buf('a: [1, 2\nb: {'), 'text/yaml'));
    expect([error.status, error.code]).toEqual([400, 'FFEC100063']);
  });

  it.each([
    ['a JSON array', '[1, 2]'],
    ['a JSON string', '"hello"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
    ['a YAML scalar', 'just some words'],
    ['a YAML list', '- a\n- b\n'],
  ])('refuses %s (the body must be an object) with 400 FFEC100063', (_name, text) => {
    const error = restErrorOf(() => parseBody(buf(text), undefined));
    expect([error.status, error.code]).toEqual([400, 'FFEC100063']);
    expect(error.message).toMatch(/must be a JSON \(or YAML\) object/);
  });
});

describe('readRawBody / readBody (a real HTTP server)', () => {
  let server: Server;
  let base: string;
  let handle: (req: IncomingMessage) => Promise<unknown>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      handle(req).then(
        (value) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(Buffer.isBuffer(value) ? { raw: value.toString('utf8'), length: value.length } : { body: value }));
        },
        (error: unknown) => {
          const rest = error instanceof RestError ? error : undefined;
          res.writeHead(rest?.status ?? 599, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify(rest ? rest.toBody() : { error: String(error) }));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A body streamed in chunks without a Content-Length (chunked transfer encoding). */
  function chunked(chunks: string[]): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    return new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(encoder.encode(c));
        controller.close();
      },
    });
  }

  it('returns the bytes of a body under the limit', async () => {
    handle = (req) => readRawBody(req, LIMIT);
    const res = await fetch(base, { method: 'POST', body: 'héllo' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ raw: 'héllo', length: Buffer.byteLength('héllo') });
  });

  it('accepts a body of exactly the limit', async () => {
    handle = (req) => readRawBody(req, LIMIT);
    const res = await fetch(base, { method: 'POST', body: 'a'.repeat(LIMIT) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { length: number }).length).toBe(LIMIT);
  });

  it('joins a streamed (chunked) body under the limit', async () => {
    handle = (req) => readRawBody(req, LIMIT);
    const res = await fetch(base, { method: 'POST', body: chunked(['{"a":', '1,', '"b":2}']), duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ raw: '{"a":1,"b":2}', length: 13 });
  });

  it('refuses a body declared larger than the limit with 413 FFEC100061', async () => {
    handle = (req) => readRawBody(req, LIMIT);
    const res = await fetch(base, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: string; code: string };
    expect(body.code).toBe('FFEC100061');
    expect(body.error).toContain(String(LIMIT));
  });

  it('refuses by Content-Length up front, before the body arrives', async () => {
    handle = (req) => readRawBody(req, LIMIT);
    // Declares 1 MiB but sends only a few bytes and never ends: only the Content-Length check can answer.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/`, { method: 'POST', headers: { 'content-length': String(1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"a":');
    });
    expect(status).toBe(413);
  });

  it('refuses a streamed body (no Content-Length) once it grows over the limit, with 413 FFEC100061', async () => {
    const seen: Array<string | undefined> = [];
    handle = (req) => {
      seen.push(req.headers['content-length']);
      return readRawBody(req, LIMIT);
    };
    const chunks = Array.from({ length: 8 }, () => 'y'.repeat(256));
    const res = await fetch(base, { method: 'POST', body: chunked(chunks), duplex: 'half' } as RequestInit);
    expect(seen).toEqual([undefined]);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe(RestErrorCode.BodyTooLarge);
  });

  it('readBody parses the body by its content type', async () => {
    handle = (req) => readBody(req, LIMIT);
    const yaml = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body: 'x: 5\ny: [a, b]\n' });
    expect(await yaml.json()).toEqual({ body: { x: 5, y: ['a', 'b'] } });
    const json = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":"5"}' });
    expect(await json.json()).toEqual({ body: { x: '5' } });
    const empty = await fetch(base, { method: 'POST' });
    expect(await empty.json()).toEqual({ body: {} });
  });

  it('readBody answers 400 FFEC100063 for a non-object body', async () => {
    handle = (req) => readBody(req, LIMIT);
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2,3]' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('FFEC100063');
  });
});
