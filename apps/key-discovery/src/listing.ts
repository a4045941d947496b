import type { ListKeysReply } from '@hsm-signer/contracts';
import type { RegistrySync } from '@hsm-signer/persistence';

export interface ListingSummary extends RegistrySync {
  /** Addresses listed by more than one healthy backend (the first backend listed wins). */
  duplicates: { address: string; backendIds: string[] }[];
}

/**
 * Turns signer-service's key listing into a registry sync: keys of healthy backends are the listed
 * set; an unhealthy backend's keys are not trusted (it may list none while it is down), so its known
 * accounts are kept as stale instead of being dropped.
 */
export function summariseListing(reply: ListKeysReply): ListingSummary {
  const listed = new Map<string, { address: string; backendId: string; keyId: string; label?: string }>();
  const seenIn = new Map<string, string[]>();
  const unhealthyBackends: string[] = [];
  for (const backend of reply.backends) {
    if (!backend.healthy) {
      unhealthyBackends.push(backend.backendId);
      continue;
    }
    for (const key of backend.keys) {
      const address = key.address.toLowerCase();
      seenIn.set(address, [...(seenIn.get(address) ?? []), backend.backendId]);
      if (!listed.has(address)) listed.set(address, { address, backendId: backend.backendId, keyId: key.keyId, ...(key.label ? { label: key.label } : {}) });
    }
  }
  const duplicates = [...seenIn.entries()].filter(([, ids]) => ids.length > 1).map(([address, backendIds]) => ({ address, backendIds }));
  return { listed: [...listed.values()], unhealthyBackends, duplicates };
}
