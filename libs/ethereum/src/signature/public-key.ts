/**
 * Public key bytes from any backend → the uncompressed 65-byte point and the Ethereum address.
 * Accepts (research/backend-apis.md §C.3, §D.2, §E.6):
 *  - PKCS#11 CKA_EC_POINT as the spec's DER OCTET STRING (`04 41 04‖X‖Y`),
 *  - the raw 65-byte point some HSMs return instead,
 *  - a 33-byte compressed point (bare or OCTET STRING wrapped),
 *  - SubjectPublicKeyInfo (AWS KMS GetPublicKey).
 */
import { keccak256 } from 'ethers';
import { DerError, DerTag, readDer, readDerChildren } from './der';
import { InvalidPublicKeyError } from './errors';
import { secp256k1 } from './secp256k1';

/** 1.3.132.0.10 (secp256k1) as DER content bytes; the full TLV is 06 05 2b 81 04 00 0a. */
export const SECP256K1_OID_DER = Uint8Array.from([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]);
const SECP256K1_OID_CONTENT = SECP256K1_OID_DER.subarray(2);
const EC_PUBLIC_KEY_OID_CONTENT = Uint8Array.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isPoint(bytes: Uint8Array): boolean {
  return (bytes.length === 65 && bytes[0] === 0x04) || (bytes.length === 33 && (bytes[0] === 0x02 || bytes[0] === 0x03));
}

function unwrap(bytes: Uint8Array): Uint8Array {
  if (isPoint(bytes)) return bytes;
  try {
    const outer = readDer(bytes);
    if (outer.end !== bytes.length) throw new DerError('trailing bytes');
    if (outer.tag === DerTag.OCTET_STRING && isPoint(outer.content)) return outer.content;
    if (outer.tag === DerTag.SEQUENCE) return fromSpki(outer.content);
  } catch (error) {
    if (error instanceof InvalidPublicKeyError) throw error;
    throw new InvalidPublicKeyError(`unrecognised public key encoding (${bytes.length} bytes): ${(error as Error).message}`, { cause: error });
  }
  throw new InvalidPublicKeyError(`unrecognised public key encoding (${bytes.length} bytes)`);
}

function fromSpki(content: Uint8Array): Uint8Array {
  const [algorithm, bits] = readDerChildren(content);
  if (!algorithm || algorithm.tag !== DerTag.SEQUENCE || !bits || bits.tag !== DerTag.BIT_STRING) {
    throw new InvalidPublicKeyError('SubjectPublicKeyInfo must be SEQUENCE { AlgorithmIdentifier, BIT STRING }');
  }
  const [alg, params] = readDerChildren(algorithm.content);
  if (!alg || alg.tag !== DerTag.OID || !equalBytes(alg.content, EC_PUBLIC_KEY_OID_CONTENT)) throw new InvalidPublicKeyError('SubjectPublicKeyInfo is not an EC public key');
  if (!params || params.tag !== DerTag.OID || !equalBytes(params.content, SECP256K1_OID_CONTENT)) throw new InvalidPublicKeyError('SubjectPublicKeyInfo curve is not secp256k1');
  if (bits.content[0] !== 0) throw new InvalidPublicKeyError('BIT STRING with unused bits');
  const point = bits.content.subarray(1);
  if (!isPoint(point)) throw new InvalidPublicKeyError('SubjectPublicKeyInfo does not hold an EC point');
  return point;
}

/** Any supported encoding → validated uncompressed point (65 bytes, 0x04‖X‖Y). */
export function parsePublicKey(bytes: Uint8Array): Uint8Array {
  const point = unwrap(bytes);
  const lib = secp256k1();
  if (!lib.publicKeyVerify(point)) throw new InvalidPublicKeyError('public key is not a point on secp256k1');
  return point.length === 65 ? Uint8Array.from(point) : lib.publicKeyConvert(point, false);
}

/** Lower-case 0x address: last 20 bytes of keccak256(X‖Y) (§C.3). Input: any encoding parsePublicKey accepts. */
export function publicKeyToAddress(publicKey: Uint8Array): string {
  const point = publicKey.length === 65 && publicKey[0] === 0x04 ? publicKey : parsePublicKey(publicKey);
  return '0x' + keccak256(point.subarray(1)).slice(-40);
}
