import type { BackendRegistry } from '@hsm-signer/backends';
import { CounterFamily, createMetricsRegistry, Gauge, HistogramFamily, LATENCY_BUCKETS_SECONDS, secondsSince, type CounterCell, type HistogramCell, type Registry } from '@hsm-signer/metrics';

export type SignatureKind = 'transaction' | 'digest';

/** The `backend` label of a request naming a backend this replica does not have (the id comes from the request). */
export const UNKNOWN_BACKEND = 'unknown';

interface KindChildren {
  ok: CounterCell;
  error: CounterCell;
}

interface BackendChildren {
  transaction: KindChildren;
  digest: KindChildren;
  duration: HistogramCell;
}

/**
 * signer-service's metrics (docs/metrics.md): signatures and their latency per backend, each
 * backend's state and key count. Research/rpc-signers.md §1.7: Web3Signer has no per-backend
 * signing metrics on its JSON-RPC path; §10: per-backend latency and health is where we do better.
 * `backend` is a configured backend id, fixed at start-up; the cells are bound once for each.
 */
export class SignerMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly backends = new Map<string, BackendChildren>();
  private readonly unknown: BackendChildren;

  constructor(backendRegistry: Pick<BackendRegistry, 'ids' | 'status'>) {
    const registers = [this.registry];
    const signatures = new CounterFamily({
      name: 'hsm_signatures_total',
      help: 'Signing requests by backend, kind (transaction | digest) and outcome (ok | error).',
      labelNames: ['backend', 'kind', 'outcome'],
      registers,
    });
    const duration = new HistogramFamily({
      name: 'hsm_signature_duration_seconds',
      help: 'Time to produce a successful signature (backend call, recovery check, encoding), by backend.',
      labelNames: ['backend'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    // Every cell is exported at 0 from the start, so rate() works before the first signature.
    const kind = (backend: string, k: SignatureKind): KindChildren => ({ ok: signatures.cell(backend, k, 'ok'), error: signatures.cell(backend, k, 'error') });
    const bind = (backend: string): BackendChildren => ({ transaction: kind(backend, 'transaction'), digest: kind(backend, 'digest'), duration: duration.cell(backend) });
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
