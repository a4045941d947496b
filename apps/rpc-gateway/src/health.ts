import type { NatsBus } from '@hsm-signer/messaging';
import type { EthNodeClient } from '@hsm-signer/transactions';

export interface HealthReport {
  status: 'ok' | 'degraded';
  nats: 'connected' | 'disconnected';
  node: 'reachable' | 'unreachable';
}

/** GET /health: NATS answers a ping (flush) and the node answers eth_chainId, each within `timeoutMs`. */
export async function checkHealth(bus: Pick<NatsBus, 'connection'>, node: Pick<EthNodeClient, 'request'>, timeoutMs: number): Promise<HealthReport> {
  const [nats, reachable] = await Promise.all([
    bus.connection.isClosed() ? Promise.resolve(false) : within(bus.connection.flush().then(() => true), timeoutMs),
    within(node.request('eth_chainId').then(() => true), timeoutMs),
  ]);
  return { status: nats && reachable ? 'ok' : 'degraded', nats: nats ? 'connected' : 'disconnected', node: reachable ? 'reachable' : 'unreachable' };
}

function within(probe: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  return Promise.race([probe.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}
