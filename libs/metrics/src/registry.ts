import { collectDefaultMetrics, Registry } from 'prom-client';

/** Every metric of ours starts with this, default Node metrics included (`hsm_process_cpu_seconds_total`). */
export const METRIC_PREFIX = 'hsm_';

/**
 * One registry per service process (never prom-client's global one: tests start several services
 * in one process, and each must show only its own counters). It carries the default Node metrics
 * (CPU, memory, event-loop lag, GC, handles) under {@link METRIC_PREFIX}.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/**
 * Latency buckets in seconds, 0.5 ms … 10 s: a SoftHSM2 signature or a local answer is well under a
 * millisecond to a few, a cloud HSM / KMS signature or a node round trip tens of milliseconds, and
 * anything past the default NATS / node timeouts (10 s) has failed anyway.
 */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds since `startedMs` (a `performance.now()` reading): histograms are in seconds (Prometheus base unit). */
export function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
