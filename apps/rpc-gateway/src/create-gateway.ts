import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { PinoNestLogger, redactUrl } from '@hsm-signer/logging';
import { NatsBus } from '@hsm-signer/messaging';
import { createSendPath, HttpDrain, startSendPath, type EthNodeClient } from '@hsm-signer/transactions';

/** At shutdown, how long requests in progress may take before their connections are cut. */
const HTTP_DRAIN_GRACE_MS = 10_000;
import type { Logger } from 'pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { RpcGatewayModule } from './app.module';
import { RpcController } from './rpc.controller';
import type { GatewayContext, RpcGatewayConfig } from './gateway-context';
import { JsonRpcHandler } from './rpc/json-rpc-handler';
import { LocalMethods } from './rpc/local-methods';
import { SigningMethods } from './rpc/signing-methods';
import { WebSocketEndpoint } from './ws/ws-endpoint';
import { nodeWebSocketUrl } from './ws/node-ws-url';
import { AccessGate } from './http/access-gate';
import { GatewayMetrics } from './metrics';

/**
 * POST / (the JSON-RPC endpoint, every eth_sendTransaction) goes straight to RpcController.rpc;
 * everything else (GET /health, unknown paths) through Nest's Express stack as before. Express's
 * router, query parsing and middleware chain cost about 100 µs of CPU per request in the profile of
 * the nonce-storm bench, for a route that uses none of it (the controller reads the raw body itself).
 * The Host / Origin gate (RPC_VHOSTS, RPC_CORS_ORIGINS) runs first on every request; at the defaults
 * it is a boolean and one header read.
 */
function routeJsonRpcPastExpress(app: INestApplication, gate: AccessGate): void {
  const server = app.getHttpServer() as Server;
  const [express] = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (!express) return;
  const controller = app.get(RpcController);
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!gate.admit(req, res)) return;
    if (req.method === 'POST' && (req.url === '/' || req.url?.startsWith('/?'))) void controller.rpc(req, res);
    else express(req, res);
  });
}

export interface RpcGateway {
  app: INestApplication;
  context: GatewayContext;
}

/**
 * Builds the rpc-gateway: joins NATS, wires the send path (libs/transactions) and the JSON-RPC
 * adapter, and returns a Nest app that is not listening yet (main.ts or a test calls listen).
 * Refuses to start when CHAIN_ID is set and the node reports another chain; a node that is down at
 * start is only a warning (the check repeats on the first send).
 */
export async function createRpcGateway(config: RpcGatewayConfig, logger: Logger): Promise<RpcGateway> {
  const name = config.serviceName || `rpc-gateway-${process.pid}`;
  const bus = await NatsBus.connect({ servers: config.natsUrl, name, requestTimeoutMs: config.natsRequestTimeoutMs });
  try {
    // TEST ONLY, not a setting: HSM_TEST_PAUSE_BEFORE_SUBMIT_MS holds every send between signing and
    // broadcasting, so an e2e test can SIGKILL the gateway there (issue 3 acceptance). Never set it in production.
    const testPauseBeforeSubmitMs = Number(process.env['HSM_TEST_PAUSE_BEFORE_SUBMIT_MS'] ?? '') || undefined;
    const metrics = config.metricsEnabled ? new GatewayMetrics({ webSocketConnections: (): number => websocket.connections }) : undefined;
    const { node, accounts, sender } = createSendPath(config, bus, logger, { testPauseBeforeSubmitMs, observer: metrics?.send });
    const local = new LocalMethods(accounts, sender, new SigningMethods({ accounts, sender, bus }));
    // One handler class for HTTP and WebSocket; a WebSocket connection gets its own over a transport
    // that sends its subscriptions down its own node socket (ws/ws-session.ts).
    const handlerFor = (transport: Pick<EthNodeClient, 'post'>) => new JsonRpcHandler(transport, local, { maxBatchSize: config.batchLimit, logger, metrics });
    const handler = handlerFor(node);
    const gate = new AccessGate({ corsOrigins: config.corsOrigins, vhosts: config.vhosts, wsOrigins: config.wsOrigins, logger });
    const websocket = new WebSocketEndpoint({
      handlerFor,
      node,
      nodeWsUrl: nodeWebSocketUrl(config.nodeWsUrl, config.nodeUrl),
      nodeTimeoutMs: config.nodeTimeoutMs,
      pingIntervalMs: config.wsPingIntervalMs,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      maxMessageBytes: config.bodyLimitBytes,
      maxConnections: config.wsMaxConnections,
      refuseUpgrade: (req) => gate.upgradeRefusal(req),
      logger,
    });
    const context: GatewayContext = { config, bus, node, accounts, sender, handler, websocket, healthTimeoutMs: Math.min(2_000, config.nodeTimeoutMs), logger, metrics };

    await startSendPath({ node, accounts, sender }, logger, redactUrl(config.nodeUrl));

    const app = await NestFactory.create(RpcGatewayModule.register(context), { bodyParser: false, logger: new PinoNestLogger(logger) });
    routeJsonRpcPastExpress(app, gate);
    context.drain = new HttpDrain(app.getHttpServer() as Server, HTTP_DRAIN_GRACE_MS);
    websocket.attach(app.getHttpServer() as Server);
    return { app, context };
  } catch (error) {
    await bus.close();
    throw error;
  }
}
