import { failureResponse, InternalJsonRpcError } from '@hsm-signer/ethereum';
import type { EthNodeClient } from '@hsm-signer/transactions';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { JsonRpcHandler } from '../rpc/json-rpc-handler';
import { NodeSocket } from './node-socket';
import { needsNodeSocket } from './subscriptions';
import { keepAlive } from './keepalive';

export type NodeTransport = Pick<EthNodeClient, 'post'>;

export interface WsSessionOptions {
  /** The gateway's JSON-RPC handler over a given node transport (the same class and local methods HTTP uses). */
  handlerFor(node: NodeTransport): Pick<JsonRpcHandler, 'handle'>;
  /** The HTTP node client every pass-through call that is not a subscription keeps using. */
  node: NodeTransport;
  nodeWsUrl: string;
  nodeTimeoutMs: number;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  logger: Logger;
}

/** Close codes (RFC 6455 §7.4.1, IANA registry) and reasons (at most 123 bytes) the client sees. */
export const CloseCode = { Normal: 1000, GoingAway: 1001, PolicyViolation: 1008, TooBig: 1009, ServiceRestart: 1012 } as const;
export const CLOSE_REASON = {
  shutdown: 'rpc-gateway is shutting down',
  slowClient: 'send buffer limit exceeded: the client reads too slowly',
  nodeDropped: "the node's WebSocket closed; subscriptions are gone: reconnect and subscribe again",
} as const;

/**
 * One client WebSocket. Every message is one JSON-RPC body for the gateway's JSON-RPC handler,
 * exactly as a POST body: single or batch, local methods, -32700 for bad JSON. Messages are
 * handled concurrently (as geth does on a socket); answers go back in completion order, matched by id.
 *
 * There are no per-message headers on a WebSocket, so sends made over it carry no X-Request-Id
 * (not idempotent by key; the upgrade request's header would be one key for every send of the
 * connection, which is wrong).
 *
 * Subscription methods go over this connection's own {@link NodeSocket}, opened on the first one;
 * the node's notifications are relayed unchanged. When the node's socket drops with subscriptions
 * open, this connection is closed with 1012 (what a node restart looks like to its own WebSocket
 * clients: viem's webSocket transport reconnects on it; ethers and web3.js report the close), because
 * the subscriptions are gone and a JSON-RPC client has no way to hear about it otherwise.
 */
export class WsSession {
  private readonly upstream: NodeSocket;
  private readonly handler: Pick<JsonRpcHandler, 'handle'>;
  private inFlight = 0;
  private stopping = false;
  private onIdle?: () => void;
  private readonly stopPing: () => void;
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WsSessionOptions,
  ) {
    this.upstream = new NodeSocket({
      url: options.nodeWsUrl,
      timeoutMs: options.nodeTimeoutMs,
      pingIntervalMs: options.pingIntervalMs,
      logger: options.logger,
      onNotification: (text) => this.send(text),
      onDrop: (subscriptions) => {
        if (subscriptions > 0) this.close(CloseCode.ServiceRestart, CLOSE_REASON.nodeDropped);
      },
    });
    const routed: NodeTransport = { post: (body) => (needsNodeSocket(body) ? this.upstream.post(body) : options.node.post(body)) };
    this.handler = options.handlerFor(routed);

    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data: WebSocket.RawData) => void this.receive(rawText(data)));
    // ws reports protocol errors (a message over maxPayload: 1009, bad frames) here and then closes.
    socket.on('error', (error) => options.logger.debug({ err: error.message }, 'WebSocket client error'));
    socket.once('close', () => {
      this.stopPing();
      this.upstream.close();
    });
    this.stopPing = keepAlive(socket, options.pingIntervalMs);
  }

  /** The connection's own node socket (tests look at it; nothing else should). */
  get nodeSocket(): NodeSocket {
    return this.upstream;
  }

  /**
   * Graceful shutdown: stops taking messages, lets those in flight answer (at most `graceMs`),
   * then closes with 1001; a client that does not complete the close handshake in a second is cut.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.inFlight > 0 && this.socket.readyState === WebSocket.OPEN) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.onIdle = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    this.close(CloseCode.GoingAway, CLOSE_REASON.shutdown);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
    this.socket.terminate();
  }

  private async receive(text: string): Promise<void> {
    if (this.stopping) return;
    this.inFlight++;
    try {
      const reply = await this.handler.handle(text);
      if (reply.body.length > 0) this.send(reply.body);
    } catch (error) {
      // The handler answers every failure itself; this only guards against a bug.
      this.options.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'unhandled error in the JSON-RPC handler (WebSocket)');
      this.send(JSON.stringify(failureResponse(null, new InternalJsonRpcError().toJSON())));
    } finally {
      if (--this.inFlight === 0) this.onIdle?.();
    }
  }

  /**
   * Sends unless the client is too far behind: with more than `maxBufferedBytes` still waiting in
   * the socket the connection is closed (1008) rather than buffering a slow reader's notifications
   * without bound (the most ever held is the limit plus one message).
   */
  private send(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.options.logger.warn({ buffered: this.socket.bufferedAmount, limit: this.options.maxBufferedBytes }, 'WebSocket client too slow; disconnecting');
      this.close(CloseCode.PolicyViolation, CLOSE_REASON.slowClient);
      return;
    }
    this.socket.send(text);
  }

  private close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
