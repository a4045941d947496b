import { commonSettings, metricsSetting } from '../common';
import { defineConfig, int, optionalStr, str } from '../setting';

export const signerServiceConfig = defineConfig('signer-service', {
  ...commonSettings,
  ...metricsSetting,
  host: str({ env: 'SIGNER_HTTP_HOST', default: '0.0.0.0', description: 'Interface of the health HTTP endpoint.' }),
  port: int({ env: 'SIGNER_HTTP_PORT', default: 8083, min: 0, max: 65535, description: 'Port of the health HTTP endpoint.' }),
  backendsConfigFile: optionalStr({
    env: 'BACKENDS_CONFIG_FILE',
    description:
      'JSON or YAML file listing signing backends (pkcs11, azure-keyvault, vault-ethsign, aws-kms), each with an id; secrets in it are `{ env: VAR }` or `{ file: PATH }`. See docs/backends.md. Used together with the PKCS11_* variables.',
  }),
  pkcs11Module: optionalStr({
    env: 'PKCS11_MODULE',
    description: 'Path of the PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so; AWS CloudHSM: /opt/cloudhsm/lib/libcloudhsm_pkcs11.so). Unset = no PKCS#11 backend.',
  }),
  pkcs11TokenLabel: optionalStr({ env: 'PKCS11_TOKEN_LABEL', description: 'Label of the token to use (slots are found by label, never by index).' }),
  pkcs11Pin: optionalStr({ env: 'PKCS11_PIN', secret: true, description: 'User PIN of the token (AWS CloudHSM: `<CU user>:<password>`).' }),
  pkcs11KeyLabelPrefix: optionalStr({ env: 'PKCS11_KEY_LABEL_PREFIX', description: 'Only keys whose CKA_LABEL starts with this prefix are used. Unset = every secp256k1 key.' }),
  pkcs11BackendId: str({ env: 'PKCS11_BACKEND_ID', default: 'pkcs11', description: 'Id of the PKCS#11 backend in the account registry.' }),
  pkcs11Sessions: int({ env: 'PKCS11_SESSIONS', default: 4, min: 1, max: 1024, description: 'Size of the PKCS#11 session pool (one signing operation per session at a time).' }),
});
