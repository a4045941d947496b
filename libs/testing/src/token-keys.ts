import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { computeAddress } from 'ethers';

const run = promisify(execFile);

export interface TokenPublicKey {
  label: string;
  id: string;
  /** Checksummed Ethereum address of the key's public point. */
  address: string;
}

/**
 * Parses `pkcs11-tool --list-objects --type pubkey` output. An EC public key prints
 * `EC_POINT: 0441 04‖X‖Y` (the DER OCTET STRING wrapping the uncompressed point, as CKA_EC_POINT holds it)
 * and `EC_PARAMS: 06052b8104000a` for secp256k1 (OID 1.3.132.0.10, shared/services.md). Keys on other
 * curves are skipped; pkcs11-tool sometimes prints an object twice, so the result is de-duplicated.
 */
export function parsePkcs11ToolPublicKeys(output: string): TokenPublicKey[] {
  const keys = new Map<string, TokenPublicKey>();
  const blocks = output.split(/\n(?=\S)/);
  for (const block of blocks) {
    if (!/^Public Key Object; EC/.test(block)) continue;
    const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*?)\\s*$`, 'm').exec(block)?.[1];
    const point = field('EC_POINT');
    const params = field('EC_PARAMS');
    if (!point || params !== '06052b8104000a') continue;
    const hex = point.toLowerCase().replace(/^0441(?=04)/, '');
    if (!/^04[0-9a-f]{128}$/.test(hex)) continue;
    const label = field('label') ?? '';
    const id = field('ID') ?? '';
    keys.set(`${label}\u0000${id}\u0000${hex}`, { label, id, address: computeAddress(`0x${hex}`) });
  }
  return [...keys.values()];
}

export interface TokenRef {
  module: string;
  label: string;
  /** Must carry SOFTHSM2_CONF for SoftHSM2. */
  env: Record<string, string | undefined>;
}

/** The secp256k1 public keys on a token, read through pkcs11-tool (public objects need no login). */
export async function listTokenKeys(token: TokenRef): Promise<TokenPublicKey[]> {
  const { stdout } = await run('pkcs11-tool', ['--module', token.module, '--token-label', token.label, '--list-objects', '--type', 'pubkey'], {
    env: { ...process.env, ...token.env },
  });
  return parsePkcs11ToolPublicKeys(stdout);
}
