import type { ListKeysReply } from '@hsm-signer/contracts';
import type { RegistrySync } from '@hsm-signer/persistence';

/** An address listed by more than one healthy backend, and the backend that serves it. */
export interface DuplicateAddress {
  address: string;
  /** Every healthy backend listing it, in precedence order. */
  backends: string[];
  /** backends[0]: the first in signer-service's listing order (docs/backends.md "Precedence"). */
  chosen: string;
}

/** One backend as the last successful poll saw it (key-discovery's /health). */
export interface BackendSummary {
  backendId: string;
  kind: string;
  healthy: boolean;
  error?: string;
  /** Keys it listed (0 while unhealthy: its known accounts are kept as stale). */
  keys: number;
  transactionTypes: (0 | 1 | 2)[];
}

export interface ListingSummary extends RegistrySync {
  duplicates: DuplicateAddress[];
  backends: BackendSummary[];
}

/**
 * Turns signer-service's key listing into a registry sync: keys of healthy backends are the listed
 * set; an unhealthy backend's keys are not trusted (it may list none while it is down), so its known
 * accounts are kept as stale instead of being dropped.
 *
 * Precedence: an address listed by several healthy backends goes to the first backend in the
 * listing, which is signer-service's registration order (the PKCS11_* token first, then
 * BACKENDS_CONFIG_FILE in file order; apps/signer-service/src/backends.ts). Each account carries the
 * transaction types of the backend that serves it.
 */
export function summariseListing(reply: ListKeysReply): ListingSummary {
  const listed = new Map<string, RegistrySync['listed'][number]>();
  const seenIn = new Map<string, string[]>();
  const unhealthyBackends: string[] = [];
  const backends: BackendSummary[] = [];
  for (const backend of reply.backends) {
    backends.push({
      backendId: backend.backendId,
      kind: backend.kind,
      healthy: backend.healthy,
      ...(backend.error ? { error: backend.error } : {}),
      keys: backend.healthy ? backend.keys.length : 0,
      transactionTypes: backend.capabilities.transactionTypes,
    });
    if (!backend.healthy) {
      unhealthyBackends.push(backend.backendId);
      continue;
    }
    for (const key of backend.keys) {
      const address = key.address.toLowerCase();
      seenIn.set(address, [...(seenIn.get(address) ?? []), backend.backendId]);
      if (!listed.has(address)) {
        listed.set(address, {
          address,
          backendId: backend.backendId,
          keyId: key.keyId,
          ...(key.label ? { label: key.label } : {}),
          transactionTypes: [...backend.capabilities.transactionTypes],
        });
      }
    }
  }
  const duplicates = [...seenIn.entries()].filter(([, ids]) => ids.length > 1).map(([address, ids]) => ({ address, backends: ids, chosen: ids[0] }));
  return { listed: [...listed.values()], unhealthyBackends, duplicates, backends };
}
