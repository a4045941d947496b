import type { BackendRegistry } from '@hsm-signer/backends';
import { Counter, createMetricsRegistry, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, secondsSince, type Registry } from '@hsm-signer/metrics';

export type SignatureKind = 'transaction' | 'digest';

/** The `backend` label of a request naming a backend this replica does not have (the id comes from the request). */
export const UNKNOWN_BACKEND = 'unknown';

interface KindChildren {
  ok: Counter.Internal;
  error: Counter.Internal;
}

interface BackendChildren {
  transaction: KindChildren;
  digest: KindChildren;
  duration: Histogram.Internal<string>;
}

/**
 * signer-service's metrics (docs/metrics.md): signatures and their latency per backend, each
 * backend's state and key count. Research/rpc-signers.md §1.7: Web3Signer has no per-backend
 * signing metrics on its JSON-RPC path; §10: per-backend latency and health is where we do better.
 * `backend` is a configured backend id, fixed at start-up; the children are bound once for each.
 */
export class SignerMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly backends = new Map<string, BackendChildren>();
  private readonly unknown: BackendChildren;

  constructor(backendRegistry: Pick<BackendRegistry, 'ids' | 'status'>) {
    const registers = [this.registry];
    const signatures = new Counter({
      name: 'hsm_signatures_total',
      help: 'Signing requests by backend, kind (transaction | digest) and outcome (ok | error).',
      labelNames: ['backend', 'kind', 'outcome'],
      registers,
    });
    const duration = new Histogram({
      name: 'hsm_signature_duration_seconds',
      help: 'Time to produce a successful signature (backend call, recovery check, encoding), by backend.',
      labelNames: ['backend'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    const bind = (backend: string): BackendChildren => {
      const kind = (k: SignatureKind): KindChildren => {
        const children = { ok: signatures.labels(backend, k, 'ok'), error: signatures.labels(backend, k, 'error') };
        // Exported at 0 from the start, so rate() works before the first signature.
        children.ok.inc(0);
        children.error.inc(0);
        return children;
      };
      duration.zero({ backend });
      return { transaction: kind('transaction'), digest: kind('digest'), duration: duration.labels(backend) };
    };
    for (const id of backendRegistry.ids()) this.backends.set(id, bind(id));
    this.unknown = bind(UNKNOWN_BACKEND);

    // Read at scrape time from the registry's supervision state (in memory, no backend call).
    new Gauge({
      name: 'hsm_backend_up',
      help: '1 when the backend is connected and ready to sign, else 0 (its state in GET /health).',
      labelNames: ['backend', 'kind'],
      registers,
      collect() {
        for (const s of backendRegistry.status()) this.labels(s.id, s.kind).set(s.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hsm_backend_keys',
      help: 'Signing keys the backend held at its last listing.',
      labelNames: ['backend'],
      registers,
      collect() {
        for (const s of backendRegistry.status()) if (s.keyCount !== undefined) this.labels(s.id).set(s.keyCount);
      },
    });
  }

  /** One signing request finished; `startedMs` a performance.now() reading. */
  signed(backendId: string, kind: SignatureKind, startedMs: number, ok: boolean): void {
    const children = this.backends.get(backendId) ?? this.unknown;
    if (ok) {
      children[kind].ok.inc();
      children.duration.observe(secondsSince(startedMs));
    } else children[kind].error.inc();
  }
}

/** Nest injection token of the optional {@link SignerMetrics} (absent with METRICS_ENABLED=false). */
export const SIGNER_METRICS = Symbol('SIGNER_METRICS');
