/**
 * Finding secp256k1 key pairs in a PKCS#11 token (research/backend-apis.md §C.3): enumerate public
 * keys whose CKA_EC_PARAMS is the secp256k1 OID, read CKA_EC_POINT for the address, and pair each
 * with its signing private key by CKA_ID (or by label when the ID is empty).
 */
import * as pkcs11js from 'pkcs11js';
import { parsePublicKey, publicKeyToAddress, SECP256K1_OID_DER } from '@hsm-signer/ethereum';

type Handle = pkcs11js.Handle;

export interface TokenKey {
  /** CKA_ID as lower-case hex, or `label:<CKA_LABEL>` when the ID is empty. */
  keyId: string;
  label?: string;
  address: string;
  publicKey: Uint8Array;
  privateHandle: Handle;
}

/** What the keyId says to search for. */
export type KeySelector = { id: Buffer } | { label: string };

const LABEL_PREFIX = 'label:';

export function keyIdOf(id: Buffer, label: string | undefined): string | undefined {
  if (id.length > 0) return id.toString('hex');
  return label ? LABEL_PREFIX + label : undefined;
}

export function selectorOf(keyId: string): KeySelector | undefined {
  if (keyId.startsWith(LABEL_PREFIX)) return { label: keyId.slice(LABEL_PREFIX.length) };
  return /^([0-9a-f]{2})+$/.test(keyId) ? { id: Buffer.from(keyId, 'hex') } : undefined;
}

export function findAll(p: pkcs11js.PKCS11, session: Handle, template: pkcs11js.Template): Handle[] {
  p.C_FindObjectsInit(session, template);
  try {
    const out: Handle[] = [];
    for (;;) {
      const batch = p.C_FindObjects(session, 64);
      if (!batch.length) return out;
      out.push(...batch);
    }
  } finally {
    p.C_FindObjectsFinal(session);
  }
}

function secp256k1PublicTemplate(extra: pkcs11js.Template = []): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(SECP256K1_OID_DER) },
    ...extra,
  ];
}

function selectorTemplate(selector: KeySelector): pkcs11js.Template {
  return 'id' in selector ? [{ type: pkcs11js.CKA_ID, value: selector.id }] : [{ type: pkcs11js.CKA_LABEL, value: selector.label }];
}

function readPublic(p: pkcs11js.PKCS11, session: Handle, handle: Handle): { id: Buffer; label?: string; point: Buffer } {
  const attrs = p.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_EC_POINT }]);
  const id = (attrs[0].value as Buffer | undefined) ?? Buffer.alloc(0);
  const labelBytes = attrs[1].value as Buffer | undefined;
  const label = labelBytes && labelBytes.length ? labelBytes.toString('utf8') : undefined;
  return { id, label, point: attrs[2].value as Buffer };
}

const PRIVATE_SIGNING_EC: pkcs11js.Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
  { type: pkcs11js.CKA_SIGN, value: true },
];

/** Finds a public key's private half: by CKA_ID when unique, else narrowed by label too. */
type PrivateFinder = (id: Buffer, label: string | undefined) => Handle | undefined;

/** One search per public key: fine for a single key (a selector), quadratic for a whole token. */
function searchingFinder(p: pkcs11js.PKCS11, session: Handle): PrivateFinder {
  return (id, label) => {
    const byId = id.length ? findAll(p, session, [...PRIVATE_SIGNING_EC, { type: pkcs11js.CKA_ID, value: id }]) : [];
    if (byId.length === 1) return byId[0];
    if (!label) return undefined;
    // No ID, or an ID shared by several keys: narrow by label too (labels need not be unique either).
    const byLabel = findAll(p, session, [...PRIVATE_SIGNING_EC, ...(id.length ? [{ type: pkcs11js.CKA_ID, value: id }] : []), { type: pkcs11js.CKA_LABEL, value: label }]);
    return byLabel.length === 1 ? byLabel[0] : undefined;
  };
}

/**
 * For listing a whole token: ONE search for every private signing EC key, then pairing in memory.
 * SoftHSM2 re-checks every object file on each C_FindObjects, so a search per public key made a
 * 100-key listing take ~670 ms of blocked event loop against ~34 ms this way (bench/README.md).
 */
function indexedFinder(p: pkcs11js.PKCS11, session: Handle): PrivateFinder {
  const privates = findAll(p, session, PRIVATE_SIGNING_EC).map((handle) => {
    const attrs = p.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_LABEL }]);
    const id = (attrs[0].value as Buffer | undefined) ?? Buffer.alloc(0);
    const labelBytes = attrs[1].value as Buffer | undefined;
    return { handle, idHex: id.toString('hex'), label: labelBytes && labelBytes.length ? labelBytes.toString('utf8') : undefined };
  });
  return (id, label) => {
    const idHex = id.toString('hex');
    const byId = id.length ? privates.filter((k) => k.idHex === idHex) : [];
    if (byId.length === 1) return byId[0].handle;
    if (!label) return undefined;
    const byLabel = (id.length ? byId : privates).filter((k) => k.label === label);
    return byLabel.length === 1 ? byLabel[0].handle : undefined;
  };
}

export interface EnumerateResult {
  keys: TokenKey[];
  /** Public keys skipped, with why (no private key, ambiguous pairing, unreadable point). */
  skipped: Array<{ keyId?: string; label?: string; reason: string }>;
}

/** Every usable secp256k1 key pair, optionally only those whose label starts with `labelPrefix`. */
export function enumerateKeys(p: pkcs11js.PKCS11, session: Handle, labelPrefix?: string, selector?: KeySelector): EnumerateResult {
  const keys: TokenKey[] = [];
  const skipped: EnumerateResult['skipped'] = [];
  const seen = new Set<string>();
  const findPrivate = selector ? searchingFinder(p, session) : indexedFinder(p, session);
  for (const handle of findAll(p, session, secp256k1PublicTemplate(selector ? selectorTemplate(selector) : []))) {
    const pub = readPublic(p, session, handle);
    if (labelPrefix && !(pub.label ?? '').startsWith(labelPrefix)) continue;
    const keyId = keyIdOf(pub.id, pub.label);
    if (!keyId) {
      skipped.push({ reason: 'public key has neither CKA_ID nor CKA_LABEL' });
      continue;
    }
    if (seen.has(keyId)) {
      skipped.push({ keyId, label: pub.label, reason: 'another public key has the same CKA_ID' });
      continue;
    }
    let publicKey: Uint8Array;
    try {
      publicKey = parsePublicKey(pub.point);
    } catch (error) {
      skipped.push({ keyId, label: pub.label, reason: `unreadable CKA_EC_POINT: ${(error as Error).message}` });
      continue;
    }
    const privateHandle = findPrivate(pub.id, pub.label);
    if (!privateHandle) {
      skipped.push({ keyId, label: pub.label, reason: 'no unique signing private key with the same CKA_ID / label' });
      continue;
    }
    seen.add(keyId);
    keys.push({ keyId, label: pub.label, address: publicKeyToAddress(publicKey), publicKey, privateHandle });
  }
  return { keys, skipped };
}
