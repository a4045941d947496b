/**
 * Backend signature bytes → (r, s), each exactly 32 bytes (research/backend-apis.md §E.1, §E.2).
 * PKCS#11 CKM_ECDSA and Azure return IEEE P1363 r‖s; AWS KMS returns DER.
 */
import { isScalarInRange } from './curve';
import { DerError, DerTag, readDer, readDerChildren } from './der';
import { MalformedSignatureError } from './errors';

/** An ECDSA signature as two 32-byte big-endian integers. */
export interface RawSignature {
  r: Uint8Array;
  s: Uint8Array;
}

/** What a digest-signing backend may hand back: P1363 / DER bytes, or r and s already split. */
export type BackendSignature = Uint8Array | { r: Uint8Array | string; s: Uint8Array | string };

/** IEEE P1363 r‖s (64 bytes for secp256k1). */
export function parseP1363Signature(bytes: Uint8Array): RawSignature {
  if (bytes.length !== 64) throw new MalformedSignatureError(`expected a 64-byte r||s signature, got ${bytes.length} bytes`);
  return checkRange({ r: bytes.slice(0, 32), s: bytes.slice(32, 64) });
}

/**
 * DER `SEQUENCE { INTEGER r, INTEGER s }`. Integers may be 33 bytes (a leading 00 sign byte) or
 * shorter than 32 (leading zeros dropped, ~1 in 128 signatures): strip and left-pad to 32 (§E.2).
 */
export function parseDerSignature(bytes: Uint8Array): RawSignature {
  try {
    const seq = readDer(bytes);
    if (seq.tag !== DerTag.SEQUENCE || seq.end !== bytes.length) throw new DerError('expected one SEQUENCE spanning the input');
    const items = readDerChildren(seq.content);
    if (items.length !== 2 || items.some((i) => i.tag !== DerTag.INTEGER)) throw new DerError('expected SEQUENCE of two INTEGERs');
    return checkRange({ r: derIntegerTo32(items[0].content), s: derIntegerTo32(items[1].content) });
  } catch (error) {
    if (error instanceof MalformedSignatureError) throw error;
    throw new MalformedSignatureError(`malformed DER signature: ${(error as Error).message}`, { cause: error });
  }
}

function derIntegerTo32(content: Uint8Array): Uint8Array {
  if (content.length === 0) throw new DerError('empty INTEGER');
  if (content[0] & 0x80) throw new DerError('negative INTEGER');
  let start = 0;
  while (start < content.length - 1 && content[start] === 0) start++;
  const digits = content.subarray(start);
  if (digits.length > 32) throw new DerError(`INTEGER of ${digits.length} bytes does not fit in 32`);
  return leftPad32(digits);
}

function leftPad32(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  out.set(bytes, 32 - bytes.length);
  return out;
}

function checkRange(sig: RawSignature): RawSignature {
  if (!isScalarInRange(sig.r)) throw new MalformedSignatureError('signature r is out of range [1, n-1]');
  if (!isScalarInRange(sig.s)) throw new MalformedSignatureError('signature s is out of range [1, n-1]');
  return sig;
}

function toBytes(value: Uint8Array | string, name: string): Uint8Array {
  if (typeof value !== 'string') return value;
  const hex = value.startsWith('0x') ? value.slice(2) : value;
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2) throw new MalformedSignatureError(`signature ${name} is not hex`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * Any backend signature → (r, s). A 64-byte array is P1363 r‖s; anything else must be DER. Split
 * values are left-padded (a backend or JSON may have dropped leading zeros).
 */
export function parseBackendSignature(signature: BackendSignature): RawSignature {
  if (signature instanceof Uint8Array) {
    if (signature.length === 64) return parseP1363Signature(signature);
    if (signature[0] === DerTag.SEQUENCE) return parseDerSignature(signature);
    throw new MalformedSignatureError(`signature of ${signature.length} bytes is neither 64-byte r||s nor DER`);
  }
  const r = toBytes(signature.r, 'r');
  const s = toBytes(signature.s, 's');
  const strip = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  const [rr, ss] = [strip(r), strip(s)];
  if (rr.length > 32 || ss.length > 32) throw new MalformedSignatureError('signature r or s is longer than 32 bytes');
  return checkRange({ r: leftPad32(rr), s: leftPad32(ss) });
}
