import { getAddress, SigningKey } from 'ethers';
import { ANVIL_DEV_ADDRESS, ANVIL_DEV_KEY } from './anvil';
import { parsePkcs11ToolPublicKeys } from './token-keys';

const point = new SigningKey(ANVIL_DEV_KEY).publicKey.slice(2); // 04‖X‖Y

const listing = `Public Key Object; EC  EC_POINT 256 bits
  EC_POINT:   0441${point}
  EC_PARAMS:  06052b8104000a
  label:      key 1
  ID:         0a0b
  Usage:      encrypt, verify, wrap, derive
  Access:     local
Public Key Object; EC  EC_POINT 256 bits
  EC_POINT:   0441${point}
  EC_PARAMS:  06052b8104000a
  label:      key 1
  ID:         0a0b
  Usage:      encrypt, verify, wrap, derive
  Access:     local
Public Key Object; EC  EC_POINT 256 bits
  EC_POINT:   04410479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8
  EC_PARAMS:  06082a8648ce3d030107
  label:      p256-key
  ID:         02
Public Key Object; RSA 2048 bits
  label:      rsa
`;

describe('parsePkcs11ToolPublicKeys', () => {
  it('turns each secp256k1 EC_POINT into its checksummed address, once, and skips other curves and RSA', () => {
    expect(parsePkcs11ToolPublicKeys(listing)).toEqual([{ label: 'key 1', id: '0a0b', address: getAddress(ANVIL_DEV_ADDRESS) }]);
  });

  it('finds nothing in an empty token listing', () => {
    expect(parsePkcs11ToolPublicKeys('')).toEqual([]);
  });
});
