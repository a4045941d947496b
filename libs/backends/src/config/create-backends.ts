/** Backend definitions (from the backends file) → connector instances. */
import { ClientCertificateCredential, ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { AwsKmsBackend } from '../aws-kms/aws-kms-backend';
import { AzureKeyVaultBackend } from '../azure-key-vault/azure-key-vault-backend';
import { Pkcs11Backend } from '../pkcs11/pkcs11-backend';
import type { BackendLogger, SigningBackend } from '../types';
import { VaultEthsignBackend } from '../vault-ethsign/vault-ethsign-backend';
import type { AzureKeyVaultDefinition, BackendDefinition } from './backends-file';

export interface CreateBackendsOptions {
  /** Child logger per backend (pino's logger.child({ backend: id })). */
  loggerFor?: (id: string) => BackendLogger;
}

export function createBackend(def: BackendDefinition, options: CreateBackendsOptions = {}): SigningBackend {
  const logger = options.loggerFor?.(def.id);
  switch (def.type) {
    case 'azure-keyvault':
      return new AzureKeyVaultBackend({
        id: def.id,
        vaultUrl: def.vaultUrl,
        credential: azureCredential(def.auth),
        selector: def.keys,
        requestTimeoutMs: def.requestTimeoutMs,
        maxRetries: def.maxRetries,
        allowInsecureConnection: def.allowInsecureConnection,
        disableChallengeResourceVerification: def.disableChallengeResourceVerification,
        secrets: azureSecrets(def.auth),
        logger,
      });
    case 'vault-ethsign':
      return new VaultEthsignBackend({ id: def.id, endpoint: def.endpoint, mount: def.mount, namespace: def.namespace, auth: def.auth, tls: def.tls, requestTimeoutMs: def.requestTimeoutMs, logger });
    case 'aws-kms':
      return new AwsKmsBackend({
        id: def.id,
        region: def.region,
        endpoint: def.endpoint,
        credentials: def.credentials,
        selector: def.keys,
        maxAttempts: def.maxAttempts,
        retryMode: def.retryMode,
        requestTimeoutMs: def.requestTimeoutMs,
        logger,
      });
    case 'pkcs11':
      return new Pkcs11Backend({ id: def.id, modulePath: def.module, tokenLabel: def.tokenLabel, pin: def.pin, keyLabelPrefix: def.keyLabelPrefix, sessions: def.sessions, logger });
  }
}

export function createBackends(defs: BackendDefinition[], options: CreateBackendsOptions = {}): SigningBackend[] {
  return defs.map((d) => createBackend(d, options));
}

/** client secret / certificate / managed identity / the DefaultAzureCredential chain (issue 4 scope 2). */
export function azureCredential(auth: AzureKeyVaultDefinition['auth']): TokenCredential {
  switch (auth.method) {
    case 'client-secret':
      return new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, { authorityHost: auth.authorityHost });
    case 'certificate':
      return new ClientCertificateCredential(auth.tenantId, auth.clientId, { certificatePath: auth.certificatePath, certificatePassword: auth.certificatePassword }, { authorityHost: auth.authorityHost });
    case 'managed-identity':
      return auth.clientId ? new ManagedIdentityCredential({ clientId: auth.clientId }) : new ManagedIdentityCredential();
    case 'default':
      return new DefaultAzureCredential(auth.managedIdentityClientId ? { managedIdentityClientId: auth.managedIdentityClientId } : {});
    case 'static-token': {
      const token = auth.token;
      return { getToken: async () => ({ token: token(), expiresOnTimestamp: Date.now() + 5 * 60_000 }) };
    }
  }
}

function azureSecrets(auth: AzureKeyVaultDefinition['auth']): string[] {
  if (auth.method === 'client-secret') return [auth.clientSecret];
  if (auth.method === 'certificate') return auth.certificatePassword ? [auth.certificatePassword] : [];
  if (auth.method === 'static-token') return [auth.token()];
  return [];
}
