import { createMetricsRegistry, Gauge, ScrapedMetric, type Registry } from '@hsm-signer/metrics';
import type { KeyDiscovery } from './discovery';

/**
 * key-discovery's metrics (docs/metrics.md), all read at scrape time from what KeyDiscovery keeps
 * anyway (no database or signer-service call): the accounts each backend serves after the last
 * listing, and the polls by outcome. `backend` is a backend id of signer-service's listing, i.e. one
 * configured there (PKCS11_* or BACKENDS_CONFIG_FILE): a fixed, small set.
 */
export class DiscoveryMetrics {
  readonly registry: Registry = createMetricsRegistry();

  constructor(discovery: Pick<KeyDiscovery, 'lastListing' | 'polls'>) {
    const registers = [this.registry];
    new Gauge({
      name: 'hsm_discovery_accounts',
      help: 'Accounts each backend serves after the last listing signer-service answered (an address several backends list counts for the first; an unhealthy backend 0: its accounts are kept as stale).',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        const listing = discovery.lastListing;
        if (!listing) return;
        for (const [backend, n] of accountsPerBackend(listing)) this.labels(backend).set(n);
      },
    });
    new ScrapedMetric(this.registry, 'counter', 'hsm_discovery_polls_total', "Polls of signer-service's key listing by outcome (ok | error: no answer, or the registry could not be updated).", 'outcome', () => [
      ['ok', discovery.polls.ok],
      ['error', discovery.polls.error],
    ]);
  }
}

/** Keys listed per backend, less the addresses another backend serves first (listing.ts "Precedence"). */
export function accountsPerBackend(listing: NonNullable<KeyDiscovery['lastListing']>): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of listing.backends) out.set(b.backendId, b.keys);
  for (const d of listing.duplicates) {
    for (const b of d.backends) if (b !== d.chosen && out.has(b)) out.set(b, (out.get(b) as number) - 1);
  }
  return out;
}
