import { BoundedValues, CounterFamily, createMetricsRegistry, Gauge, HistogramFamily, LATENCY_BUCKETS_SECONDS, secondsSince, type CounterCell, type HistogramCell, type Registry } from '@hsm-signer/metrics';
import { sendStageObserver, type SendObserver } from '@hsm-signer/transactions';
import { LocalMethods } from './rpc/local-methods';

/** The `method` label of every request the gateway does not answer itself: never the client's method name. */
export const PASSTHROUGH = 'passthrough';

/** JSON-RPC codes the gateway and the nodes use (research/rpc-signers.md §1.8); up to 16 more as seen, then "other". */
const KNOWN_CODES = ['-32700', '-32600', '-32601', '-32602', '-32603', '-32000', '-32001', '-32002', '-32003', '-32004', '-32005', '3'];

interface MethodChildren {
  ok: CounterCell;
  error: CounterCell;
  duration?: HistogramCell;
}

/**
 * The rpc-gateway's metrics (docs/metrics.md). Research/rpc-signers.md §1.7: Web3Signer's JSON-RPC
 * path has no per-method signing metrics; §10 names per-method latency as where we do better.
 *
 * `method` is one of the methods answered here ({@link LocalMethods.methods}) or `passthrough`:
 * the client chooses the method name, so it must never become a label value by itself. Every cell
 * is bound once here (libs/metrics cells.ts); an observation is a Map lookup and a few additions.
 */
export class GatewayMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly methods = new Map<string, MethodChildren>();
  private readonly passthrough: MethodChildren;
  private readonly codes = new BoundedValues({ allowed: KNOWN_CODES, extra: 16, other: 'other' });
  private readonly errors: CounterFamily;

  /** The send path's stage durations (TransactionSender's `observer` option). */
  readonly send: SendObserver = sendStageObserver(this.registry);

  constructor(options: { webSocketConnections?: () => number } = {}) {
    const registers = [this.registry];
    const requests = new CounterFamily({
      name: 'hsm_rpc_requests_total',
      help: 'JSON-RPC requests (batch entries counted one by one) by method (the locally answered ones, else "passthrough") and outcome (ok | error).',
      labelNames: ['method', 'outcome'],
      registers,
    });
    const duration = new HistogramFamily({
      name: 'hsm_rpc_request_duration_seconds',
      help: 'Time to answer a JSON-RPC request the gateway answers itself (eth_sendTransaction: until the node accepted it), by method.',
      labelNames: ['method'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.errors = new CounterFamily({ name: 'hsm_rpc_errors_total', help: 'JSON-RPC errors the gateway answered itself, by JSON-RPC error code.', labelNames: ['code'], registers });
    // Every known series is exported from the start at 0, so rate() and absent() work before the first request.
    const bind = (method: string): MethodChildren => ({ ok: requests.cell(method, 'ok'), error: requests.cell(method, 'error') });
    for (const method of LocalMethods.methods) this.methods.set(method, { ...bind(method), duration: duration.cell(method) });
    this.passthrough = bind(PASSTHROUGH);
    const connections = options.webSocketConnections;
    if (connections) {
      new Gauge({
        name: 'hsm_rpc_websocket_connections',
        help: 'Open JSON-RPC WebSocket client connections.',
        registers,
        collect() {
          this.set(connections());
        },
      });
    }
  }

  /** A request answered here, `startedMs` a performance.now() reading; `errorCode` when it failed. */
  answered(method: string, startedMs: number, errorCode?: number): void {
    const children = this.methods.get(method) ?? this.passthrough;
    children.duration?.observe(secondsSince(startedMs));
    if (errorCode === undefined) children.ok.inc();
    else {
      children.error.inc();
      this.error(errorCode);
    }
  }

  /**
   * `count` requests passed to the node. `ok`: the node answered (its own JSON-RPC errors inside
   * are relayed unread, so they count as ok); otherwise the gateway answered `errorCode` itself.
   */
  passedThrough(count: number, ok: boolean, errorCode?: number): void {
    if (ok) this.passthrough.ok.inc(count);
    else {
      this.passthrough.error.inc(count);
      if (errorCode !== undefined) this.error(errorCode, count);
    }
  }

  /** An error for a body or batch entry that was not a valid request (-32700, -32600). */
  error(code: number, count = 1): void {
    this.errors.cell(this.codes.of(String(code))).inc(count);
  }
}
