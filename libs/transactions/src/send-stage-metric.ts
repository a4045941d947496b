import { HistogramFamily, LATENCY_BUCKETS_SECONDS, type HistogramCell, type Registry } from '@hsm-signer/metrics';
import type { SendObserver, SendStage } from './transaction-sender';

const STAGES: readonly SendStage[] = ['estimate', 'allocate', 'sign', 'submit'];

/**
 * `hsm_send_stage_duration_seconds` (docs/metrics.md): the duration of each completed stage of a send,
 * the same metric in both gateways, as the observer TransactionSender reports to. Every stage is
 * exported at 0 from the start; an observation is a Map lookup and a histogram observe. (Here and not
 * in transaction-sender.ts: the sender itself knows nothing of Prometheus.)
 */
export function sendStageObserver(registry: Registry): SendObserver {
  const family = new HistogramFamily({
    name: 'hsm_send_stage_duration_seconds',
    help: 'Duration of each completed stage of a transaction send: estimate (gas and fees), allocate (nonce), sign, submit (eth_sendRawTransaction).',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const cells = new Map<SendStage, HistogramCell>(STAGES.map((s) => [s, family.cell(s)]));
  return { stageDone: (stage, seconds) => cells.get(stage)?.observe(seconds) };
}
