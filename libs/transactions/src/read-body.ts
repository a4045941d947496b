import type { IncomingMessage } from 'node:http';

/**
 * A request body, refusing more than `limitBytes`: checked against Content-Length up front (the rest
 * is drained unread) and while streaming. Both gateways read their bodies themselves (Nest's body
 * parser is off: a bad body must become their own error, JSON-RPC -32700 or the REST error JSON,
 * never an Express HTML page); `tooLarge` makes each one's error.
 */
export function readBodyBytes(req: IncomingMessage, limitBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}
