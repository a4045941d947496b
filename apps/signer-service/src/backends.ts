/**
 * Builds the configured signing backends from signer-service's settings: the PKCS#11 token of the
 * PKCS11_* variables, plus every backend of BACKENDS_CONFIG_FILE (PKCS#11, Azure Key Vault, Vault
 * ethsign, AWS KMS; docs/backends.md).
 */
import type { Logger } from 'pino';
import { BackendRegistry, BackendsConfigError, createBackends, loadBackendsFile, Pkcs11Backend, type SigningBackend } from '@hsm-signer/backends';
import { ConfigError } from '@hsm-signer/config';
import type { SignerServiceConfig } from './config';

export function buildBackends(config: SignerServiceConfig, logger: Logger): SigningBackend[] {
  const backends: SigningBackend[] = [];
  if (config.pkcs11Module) {
    const problems: string[] = [];
    if (!config.pkcs11TokenLabel) problems.push('PKCS11_TOKEN_LABEL is required when PKCS11_MODULE is set');
    if (!config.pkcs11Pin) problems.push('PKCS11_PIN (or PKCS11_PIN_FILE) is required when PKCS11_MODULE is set');
    if (problems.length) throw new ConfigError('signer-service', problems);
    backends.push(
      new Pkcs11Backend({
        id: config.pkcs11BackendId,
        modulePath: config.pkcs11Module,
        tokenLabel: config.pkcs11TokenLabel as string,
        pin: config.pkcs11Pin as string,
        keyLabelPrefix: config.pkcs11KeyLabelPrefix,
        sessions: config.pkcs11Sessions,
        logger: logger.child({ backend: config.pkcs11BackendId }),
      }),
    );
  }
  if (config.backendsConfigFile) {
    let fromFile: SigningBackend[];
    try {
      fromFile = createBackends(loadBackendsFile(config.backendsConfigFile), { loggerFor: (id) => logger.child({ backend: id }) });
    } catch (error) {
      if (error instanceof BackendsConfigError) throw new ConfigError('signer-service', error.problems.map((p) => `BACKENDS_CONFIG_FILE ${error.source}: ${p}`));
      throw error;
    }
    const taken = new Set(backends.map((b) => b.id));
    const clash = fromFile.filter((b) => taken.has(b.id)).map((b) => `BACKENDS_CONFIG_FILE: backend id "${b.id}" is also PKCS11_BACKEND_ID`);
    if (clash.length) throw new ConfigError('signer-service', clash);
    backends.push(...fromFile);
  }
  return backends;
}

export function buildRegistry(config: SignerServiceConfig, logger: Logger): BackendRegistry {
  // Reconnect backoff: DEFAULT_BACKOFF (500 ms doubling to 30 s, with jitter).
  const registry = new BackendRegistry({ logger });
  for (const backend of buildBackends(config, logger)) registry.add(backend);
  return registry;
}
