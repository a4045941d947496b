import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { readBodyBytes } from '@hsm-signer/transactions';
import { RestError, RestErrorCode } from '../errors';

/** Reads the raw body, refusing more than `limitBytes` (Content-Length up front, then while streaming): 413. */
export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return readBodyBytes(req, limitBytes, () => new RestError(413, RestErrorCode.BodyTooLarge, `Request body exceeds the limit of ${limitBytes} bytes (REST_BODY_LIMIT_BYTES)`));
}

/**
 * A request body as ethconnect reads it (FE utils/payloadutils.go, research/rest-gateway.md §2.3
 * item 4): empty → {}; YAML when the content type says so or JSON does not parse; anything else →
 * 400. The result must be an object (the ABI inputs by name).
 */
export function parseBody(raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  const yamlType = /^(application|text)\/(x-)?yaml\b/i.test(contentType ?? '');
  let value: unknown;
  let parsed = false;
  if (!yamlType) {
    try {
      value = JSON.parse(text);
      parsed = true;
    } catch {
      // ethconnect falls back to YAML (a superset of JSON) when JSON does not parse.
    }
  }
  if (!parsed) {
    try {
      value = parseYaml(text);
    } catch (error) {
      throw new RestError(400, RestErrorCode.BodyUnparsable, `Unable to parse the request body as JSON or YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RestError(400, RestErrorCode.BodyUnparsable, 'The request body must be a JSON (or YAML) object whose keys are the parameter names');
  }
  return value as Record<string, unknown>;
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  return parseBody(await readRawBody(req, limitBytes), req.headers['content-type']);
}
