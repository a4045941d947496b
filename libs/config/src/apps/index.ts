// One schema per app. Each app's main.ts calls loadConfig(<schema>) before anything else.
export * from './rpc-gateway';
export * from './rest-gateway';
export * from './nonce-service';
export * from './key-discovery';
export * from './signer-service';
import { rpcGatewayConfig } from './rpc-gateway';
import { restGatewayConfig } from './rest-gateway';
import { nonceServiceConfig } from './nonce-service';
import { keyDiscoveryConfig } from './key-discovery';
import { signerServiceConfig } from './signer-service';

export const allAppConfigs = [rpcGatewayConfig, restGatewayConfig, nonceServiceConfig, keyDiscoveryConfig, signerServiceConfig];
