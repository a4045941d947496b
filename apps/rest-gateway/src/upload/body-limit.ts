import type { IncomingMessage } from 'node:http';
import { invalidUpload, uploadTooLarge } from './upload-errors';

export function bodyTooLarge(maxBytes: number) {
  return uploadTooLarge(
    `The upload is larger than ${maxBytes} bytes: upload only the sources the contract needs (or its ABI and bytecode), or ask the operator to raise the upload limit`,
  );
}

/** Refuses before reading a byte when Content-Length already says the body is over the limit. */
export function checkDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw bodyTooLarge(maxBytes);
}

/**
 * Feeds the request body to `write` chunk by chunk, counting bytes, and rejects with 413 as soon as the
 * count passes `maxBytes` (a chunked body has no Content-Length to check first). On any failure, or when
 * `abort` fires (the parser gave up), it stops reading: its listeners come off and the request stays
 * paused, so the rest of an oversized body is never buffered; the caller answers with
 * `Connection: close` and the socket goes away with the unread rest.
 * `write` returning a promise is backpressure: reading resumes once it settles.
 */
export function pumpBody(req: IncomingMessage, maxBytes: number, write: (chunk: Buffer) => void | Promise<unknown>, abort: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    let settled = false;
    const done = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      abort.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve();
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) return done(bodyTooLarge(maxBytes));
      const pending = write(chunk);
      if (!pending) return;
      req.pause();
      pending.then(
        () => {
          if (!settled) req.resume();
        },
        (error: unknown) => done(error),
      );
    };
    const onEnd = (): void => done();
    const onError = (error: Error): void => done(interrupted(error));
    const onClose = (): void => {
      if (!req.complete) done(interrupted());
    };
    const onAbort = (): void => done(abort.reason);
    if (abort.aborted) return done(abort.reason);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    abort.addEventListener('abort', onAbort);
  });
}

function interrupted(cause?: unknown) {
  return invalidUpload('The upload was interrupted before the end of the body: send it again', cause);
}

/** The whole body, for the JSON form. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pumpBody(req, maxBytes, (chunk) => void chunks.push(chunk), new AbortController().signal);
  return Buffer.concat(chunks);
}
