/**
 * A minimal DER reader: just enough ASN.1 for ECDSA signatures (SEQUENCE { INTEGER r, INTEGER s })
 * and SubjectPublicKeyInfo. Strict about lengths so truncated or padded input fails loudly.
 */

export interface DerElement {
  tag: number;
  /** Content bytes (a view into the input). */
  content: Uint8Array;
  /** Offset just past this element. */
  end: number;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export function readDer(bytes: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER element');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let pos = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 2) throw new DerError('unsupported DER length form');
    if (pos + n > bytes.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | bytes[pos + i];
    pos += n;
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError('DER element longer than its input');
  return { tag, content: bytes.subarray(pos, end), end };
}

/** Every element inside a constructed element's content. */
export function readDerChildren(content: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    const el = readDer(content, offset);
    out.push(el);
    offset = el.end;
  }
  return out;
}

export const DerTag = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;
