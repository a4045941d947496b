import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RestError } from '../errors';
import { parseAbiUpload } from './parse-abi-upload';

/** An endless request body that counts how much of it was pulled. */
function endlessRequest(contentType: string): { req: IncomingMessage; pulled: () => number } {
  let pulled = 0;
  let started = false;
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const stream = new Readable({
    read() {
      // asynchronous like a socket, so a stream left flowing shows up as a growing count, not a hang
      setImmediate(() => {
        if (!started) {
          started = true;
          this.push(Buffer.from(`--b\r\nContent-Disposition: form-data; name="files"; filename="Big.sol"\r\n\r\n`));
        }
        pulled += chunk.length;
        this.push(chunk);
      });
    },
  });
  return { req: Object.assign(stream, { headers: { 'content-type': contentType }, complete: false }) as unknown as IncomingMessage, pulled: () => pulled };
}

describe('upload size limit while streaming', () => {
  it.each([['multipart/form-data; boundary=b'], ['application/json']])('rejects %s with 413 past maxBytes and pulls no more of the body', async (contentType) => {
    const maxBytes = 200 * 1024;
    const { req, pulled } = endlessRequest(contentType);
    const error = await parseAbiUpload(req, new URLSearchParams(), { maxBytes }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestError);
    expect((error as RestError).status).toBe(413);
    // a paused stream still fills its buffer once (highWaterMark, 16 KiB), then nothing more is pulled
    await sleep(20);
    const settled = pulled();
    await sleep(50);
    expect(pulled()).toBe(settled);
    expect(settled).toBeLessThanOrEqual(maxBytes + 64 * 1024);
  });
});
