import type { ConfigOf, restGatewayConfig } from '@hsm-signer/config';
import type { NatsBus } from '@hsm-signer/messaging';
import type { RestStore } from '@hsm-signer/persistence';
import type { Logger } from 'pino';
import type { ContractInvoker } from './api/invoke';
import type { Registry } from './api/registry';
import type { RepliesApi } from './api/replies';
import type { WebhookApi } from './api/webhook';
import type { ParamPrefixes } from './http/special-params';
import type { RestMetrics } from './metrics';

export type RestGatewayConfig = ConfigOf<(typeof restGatewayConfig)['settings']>;

/** Everything the controllers need, built once in createRestGateway (plain objects). */
export interface RestContext {
  config: RestGatewayConfig;
  bus: NatsBus;
  store: RestStore;
  registry: Registry;
  invoker: ContractInvoker;
  replies: RepliesApi;
  webhook: WebhookApi;
  prefixes: ParamPrefixes;
  logger: Logger;
  /** Absent with METRICS_ENABLED=false (no GET /metrics then). */
  metrics?: RestMetrics;
}

export const REST_CONTEXT = Symbol('RestContext');
