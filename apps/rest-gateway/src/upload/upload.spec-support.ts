// Test support for the upload specs (not a spec itself): a real HTTP server in front of
// parseAbiUpload, so the specs exercise the request path a controller will use.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestError } from '../errors';
import { parseAbiUpload, type UploadLimits } from './parse-abi-upload';

export interface UploadServer {
  url: string;
  /** Bytes the server read from the socket of the last request (includes the request head). */
  lastBytesRead(): number;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  body: { kind?: string; upload?: Record<string, unknown>; files?: string[]; contracts?: string[]; error?: string; code?: string };
}

export async function startUploadServer(limits: UploadLimits): Promise<UploadServer> {
  let bytesRead = 0;
  const server: Server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    parseAbiUpload(req, query, limits).then(
      (result) => {
        bytesRead = req.socket.bytesRead;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      },
      (error: unknown) => {
        bytesRead = req.socket.bytesRead;
        const rest = error instanceof RestError ? error : new RestError(500, 'TEST', String((error as Error).stack));
        // the rest of an oversized body stays unread: close the connection instead of draining it
        res.writeHead(rest.status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(rest.toBody()));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/abis`,
    lastBytesRead: () => bytesRead,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function postForm(server: UploadServer, form: FormData, query = ''): Promise<Answer> {
  const res = await fetch(server.url + query, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

export async function postBody(server: UploadServer, body: string | Uint8Array, contentType: string, query = ''): Promise<Answer> {
  const res = await fetch(server.url + query, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** A multipart body written by hand, for part headers FormData will not produce. */
export function rawMultipart(parts: { headers: string; content: string | Uint8Array }[]): { body: Buffer; contentType: string } {
  const boundary = 'test-boundary-7MA4YWxkTrZu0gW';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.headers}\r\n\r\n`), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Streams a chunked multipart body of `totalBytes` (one file part) and stops writing once the answer
 * arrives; resolves with the answer and how many body bytes were written by then.
 */
export function streamUntilAnswered(server: UploadServer, totalBytes: number, chunkBytes = 16 * 1024): Promise<Answer & { written: number }> {
  const boundary = 'stream-boundary';
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(server.url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), written }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(chunkBytes, 0x61);
    const writeMore = (): void => {
      while (!answered && written < totalBytes) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', writeMore);
      }
      if (!answered) req.end(`\r\n--${boundary}--\r\n`);
    };
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="Big.sol"\r\n\r\n`);
    writeMore();
  });
}

export function file(name: string, content: string | Uint8Array): [Blob, string] {
  return [new Blob([content]), name];
}

export const GREETER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

/// @title Greeter
/// @dev Keeps one greeting, set at deployment.
contract Greeter {
    string public greeting;

    /// @dev Sets the first greeting.
    /// @param initial the greeting to start with
    constructor(string memory initial) {
        greeting = initial;
    }

    /// @dev Replaces the greeting.
    function set(string calldata next) external {
        greeting = next;
    }
}
`;

export const TWO_CONTRACTS = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;
contract A { uint256 public a = 1; }
contract B { uint256 public b = 2; }
`;

export const TOKEN = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;
import "./lib/SafeAdd.sol";
contract Token {
    mapping(address => uint256) public balanceOf;
    function mint(address to, uint256 amount) external { balanceOf[to] = SafeAdd.add(balanceOf[to], amount); }
}
`;

export const SAFE_ADD = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;
library SafeAdd {
    function add(uint256 x, uint256 y) internal pure returns (uint256) { return x + y; }
}
`;

/** A tiny valid ABI: one function. */
export const SET_ABI = [{ type: 'function', name: 'set', stateMutability: 'nonpayable', inputs: [{ name: 'v', type: 'uint256' }], outputs: [] }];
