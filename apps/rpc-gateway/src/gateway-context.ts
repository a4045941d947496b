import type { ConfigOf, rpcGatewayConfig } from '@hsm-signer/config';
import type { NatsBus } from '@hsm-signer/messaging';
import type { AccountDirectory, EthNodeClient, HttpDrain, TransactionSender } from '@hsm-signer/transactions';
import type { Logger } from 'pino';
import type { GatewayMetrics } from './metrics';
import type { JsonRpcHandler } from './rpc/json-rpc-handler';
import type { WebSocketEndpoint } from './ws/ws-endpoint';

export type RpcGatewayConfig = ConfigOf<(typeof rpcGatewayConfig)['settings']>;

/** Everything the app's controllers need, built once in createRpcGateway (plain objects, no DI magic). */
export interface GatewayContext {
  config: RpcGatewayConfig;
  bus: NatsBus;
  node: EthNodeClient;
  accounts: AccountDirectory;
  sender: TransactionSender;
  handler: JsonRpcHandler;
  /** JSON-RPC over WebSocket on the same port (closed first on shutdown). */
  websocket: WebSocketEndpoint;
  healthTimeoutMs: number;
  /** Closes busy keep-alive connections at shutdown (set once the HTTP server exists). */
  drain?: HttpDrain;
  logger: Logger;
  /** Prometheus metrics, served at GET /metrics; absent with METRICS_ENABLED=false. */
  metrics?: GatewayMetrics;
}

export const GATEWAY = Symbol('GatewayContext');
