import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WsSession, type WsSessionOptions } from './ws-session';

export interface WsEndpointOptions extends WsSessionOptions {
  /** Largest message accepted (RPC_BODY_LIMIT_BYTES); ws closes the connection with 1009 past it. */
  maxMessageBytes: number;
  /** How long shutdown lets requests in flight answer before it closes the connections. */
  shutdownGraceMs?: number;
  /** Most open client connections (RPC_WS_MAX_CONNECTIONS); beyond it an upgrade gets 503. */
  maxConnections?: number;
  /** Host / Origin check of an upgrade (http/access-gate.ts): a refusal is answered instead of upgrading. */
  refuseUpgrade?: (req: IncomingMessage) => { status: number; body: string } | undefined;
}

/**
 * JSON-RPC over WebSocket on the HTTP server's own port, like a node serving both (geth with
 * `--ws.port` = `--http.port`, anvil always): an upgrade of `GET /` becomes a {@link WsSession}.
 * Plain HTTP requests never reach this code (it listens to 'upgrade' only), so the POST / fast path
 * in create-gateway.ts is untouched. Ethereum WebSocket clients (ethers, viem, web3.js) need this for
 * subscriptions; Web3Signer has none (research/rpc-signers.md §1.3, §10, Web3Signer #911).
 */
export class WebSocketEndpoint {
  private readonly server: WebSocketServer;
  private readonly sessions = new Set<WsSession>();
  private closing = false;

  constructor(private readonly options: WsEndpointOptions) {
    // No compression: JSON-RPC answers are small, and deflate would cost CPU on every message.
    this.server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxMessageBytes });
  }

  /** Open client connections. */
  get connections(): number {
    return this.sessions.size;
  }

  /** Open WebSocket connections to the node (one at most per client connection that subscribed). */
  get nodeConnections(): number {
    let n = 0;
    for (const session of this.sessions) if (session.nodeSocket.isOpen) n++;
    return n;
  }

  attach(http: Server): void {
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /** Graceful shutdown: no new connections; every open one answers what is in flight, then closes (1001). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.sessions].map((session) => session.shutdown(this.options.shutdownGraceMs ?? 5_000)));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    if (this.closing) return refuse(socket, 503, 'Service Unavailable');
    const refusal = this.options.refuseUpgrade?.(req);
    if (refusal) return refuse(socket, refusal.status, 'Forbidden', refusal.body);
    // The JSON-RPC endpoint is `/`, as for POST (geth's default ws.rpcprefix).
    if (req.url !== '/' && !req.url?.startsWith('/?')) return refuse(socket, 404, 'Not Found');
    // Every connection costs a session and possibly a node socket: an unbounded number of idle
    // clients would exhaust the replica's memory and the node's connection limit.
    if (this.options.maxConnections !== undefined && this.sessions.size >= this.options.maxConnections) {
      this.options.logger.warn({ connections: this.sessions.size }, 'WebSocket connection refused: RPC_WS_MAX_CONNECTIONS reached');
      return refuse(socket, 503, 'Service Unavailable', TOO_MANY_CONNECTIONS_BODY(this.options.maxConnections));
    }
    this.server.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsSession(ws, this.options);
      this.sessions.add(session);
      this.options.logger.debug({ connections: this.sessions.size }, 'WebSocket client connected');
      void session.closed.then(() => {
        this.sessions.delete(session);
        this.options.logger.debug({ connections: this.sessions.size }, 'WebSocket client disconnected');
      });
    });
  }
}

const TOO_MANY_CONNECTIONS_BODY = (limit: number) =>
  JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `this gateway replica already holds ${limit} WebSocket connections (RPC_WS_MAX_CONNECTIONS); retry later or use another replica` } });

function refuse(socket: Duplex, status: number, text: string, json = ''): void {
  const type = json ? 'Content-Type: application/json\r\n' : '';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
}
