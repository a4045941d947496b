import type { ConfigOf, rpcGatewayConfig } from '@hsm-signer/config';
import type { NatsBus } from '@hsm-signer/messaging';
import type { AccountDirectory, EthNodeClient, TransactionSender } from '@hsm-signer/transactions';
import type { Logger } from 'pino';
import type { JsonRpcHandler } from './rpc/json-rpc-handler';

export type RpcGatewayConfig = ConfigOf<(typeof rpcGatewayConfig)['settings']>;

/** Everything the app's controllers need, built once in createRpcGateway (plain objects, no DI magic). */
export interface GatewayContext {
  config: RpcGatewayConfig;
  bus: NatsBus;
  node: EthNodeClient;
  accounts: AccountDirectory;
  sender: TransactionSender;
  handler: JsonRpcHandler;
  healthTimeoutMs: number;
  logger: Logger;
}

export const GATEWAY = Symbol('GatewayContext');
