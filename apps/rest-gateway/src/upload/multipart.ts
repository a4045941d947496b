import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import busboy from 'busboy';
import type { UploadedFile } from './archives';
import { bodyTooLarge, pumpBody } from './body-limit';
import { invalidUpload, uploadTooLarge } from './upload-errors';

export interface MultipartForm {
  /** Text fields in body order (a name may repeat, e.g. several `source`). */
  fields: [name: string, value: string][];
  /** File parts in body order, whatever their field name (ethconnect takes every file part). */
  files: (UploadedFile & { field: string })[];
}

const MAX_FIELDS = 1000;

/**
 * Parses a multipart/form-data request as it streams in. A file name with `/` or `\` is refused as soon
 * as its part header arrives (ethconnect FFEC100119): a directory structure comes as an archive.
 * busboy's `preservePath` keeps the name as sent; by default it would cut it to the base name and hide
 * the problem.
 */
export async function readMultipart(req: IncomingMessage, limits: { maxBytes: number; maxFiles: number }): Promise<MultipartForm> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      preservePath: true,
      defParamCharset: 'utf8',
      limits: { fieldSize: limits.maxBytes, fileSize: limits.maxBytes, files: limits.maxFiles, fields: MAX_FIELDS },
    });
  } catch (error) {
    throw invalidUpload(`The multipart/form-data body cannot be read (${(error as Error).message}): let your HTTP client set the Content-Type header with its boundary`, error);
  }

  const abort = new AbortController();
  const fail = (error: unknown): void => {
    if (!abort.signal.aborted) abort.abort(error);
  };
  const fields: [string, string][] = [];
  const files: ((UploadedFile & { field: string }) | undefined)[] = [];
  const fileReads: Promise<void>[] = [];

  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) return fail(bodyTooLarge(limits.maxBytes));
    fields.push([name, value]);
  });
  parser.on('file', (field, stream, info) => {
    const name = info.filename ?? '';
    const problem = fileNameProblem(name);
    if (problem) {
      stream.resume();
      return fail(invalidUpload(problem));
    }
    const slot = files.push(undefined) - 1;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    fileReads.push(
      once(stream, 'end').then(() => {
        if (stream.truncated) return fail(bodyTooLarge(limits.maxBytes));
        files[slot] = { field, name, data: Buffer.concat(chunks) };
      }, fail),
    );
  });
  parser.on('filesLimit', () =>
    fail(uploadTooLarge(`The upload has more than ${limits.maxFiles} files: put the sources into one .zip or .tar.gz, with only what the contract needs`)),
  );
  parser.on('fieldsLimit', () => fail(invalidUpload(`The upload has more than ${MAX_FIELDS} form fields: send only file parts and the fields POST /abis knows`)));
  parser.on('error', (error: Error) =>
    fail(invalidUpload(`The multipart/form-data body is malformed (${error.message}): let your HTTP client (curl -F, FormData) build the body`, error)),
  );
  const parsed = new Promise<void>((resolve, reject) => {
    parser.once('close', resolve);
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason));
  });
  parsed.catch(() => undefined); // awaited below unless reading failed first

  try {
    await pumpBody(req, limits.maxBytes, (chunk) => (parser.write(chunk) ? undefined : once(parser, 'drain')), abort.signal);
    parser.end();
    await parsed;
    await Promise.all(fileReads);
    if (abort.signal.aborted) throw abort.signal.reason;
  } catch (error) {
    fail(error);
    parser.removeAllListeners();
    parser.on('error', () => undefined);
    parser.destroy();
    throw error;
  }
  return { fields, files: files.filter((f) => f !== undefined) };
}

/** Why a part's file name cannot be kept at the root of the upload, if it cannot. */
function fileNameProblem(name: string): string | undefined {
  if (name === '') return `A file part has no file name: send each file with its name (curl -F 'files=@Token.sol')`;
  if (/[/\\]/.test(name)) return `File names cannot contain slashes ('${name}'): upload a .zip or .tar.gz to send a directory structure`;
  if (name === '.' || name === '..') return `'${name}' is not a file name: send each file with its own name`;
  return undefined;
}
