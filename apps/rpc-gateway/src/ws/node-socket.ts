import { DownstreamTimeoutError, DownstreamUnavailableError, type JsonRpcError, type JsonRpcId } from '@hsm-signer/ethereum';
import type { RawNodeResponse } from '@hsm-signer/transactions';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { NodeWebSocketUnavailableError } from './errors';
import { describeNodeUrl } from './node-ws-url';
import { keepAlive } from './keepalive';

export interface NodeSocketOptions {
  url: string;
  /** Handshake timeout and how long one request may wait for its answer (ETH_NODE_TIMEOUT_MS). */
  timeoutMs: number;
  /** Ping period; a node socket that misses a pong by the next ping is dropped. */
  pingIntervalMs: number;
  logger: Logger;
  /** Every message from the node that is not an answer (`eth_subscription` notifications), as received. */
  onNotification(text: string): void;
  /**
   * The node closed the socket (or stopped answering pings) while `subscriptions` of them were
   * open: they are gone on the node's side too. Not called after {@link NodeSocket.close}.
   */
  onDrop(subscriptions: number, reason: string): void;
}

interface WireRequest {
  jsonrpc?: unknown;
  method?: unknown;
  params?: unknown;
  id?: JsonRpcId;
}

/** One post() in flight: its answers, slot by slot, under the ids the client gave. */
interface Call {
  batch: boolean;
  requests: WireRequest[];
  answers: Array<Record<string, unknown> | undefined>;
  remaining: number;
  timer: NodeJS.Timeout;
  resolve(response: RawNodeResponse): void;
  reject(error: JsonRpcError): void;
}

type Pending = { call: Call; slot: number };

/**
 * One client connection's WebSocket to the node, opened on its first subscription request and
 * closed with the client. It offers the same `post(body) → raw response` as the HTTP node client,
 * so the JSON-RPC handler forwards through it unchanged.
 *
 * Ids are rewritten on the way up (a counter of this socket) and restored on the way down: a client
 * may reuse ids, the handler numbers a forwarded batch 0…n-1 every time, and several posts share the
 * socket — answers must still find their request. Notifications from the node are relayed as they
 * came, byte for byte.
 */
export class NodeSocket {
  private socket?: WebSocket;
  private connecting?: Promise<WebSocket>;
  private readonly pending = new Map<number, Pending>();
  private readonly subscriptions = new Set<string>();
  private nextId = 1;
  private stopPing: () => void = () => undefined;
  private closed = false;

  constructor(private readonly options: NodeSocketOptions) {}

  /** Subscriptions the node has confirmed on this socket and not yet cancelled. */
  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /**
   * Sends one request or batch and resolves with the node's answer, ids restored (an empty body when
   * every request was a notification). Rejects with {@link NodeWebSocketUnavailableError} when the
   * socket cannot be opened, a timeout, or "Failed to connect to downstream node" when it drops.
   */
  async post(body: string): Promise<RawNodeResponse> {
    const parsed = JSON.parse(body) as WireRequest | WireRequest[];
    const batch = Array.isArray(parsed);
    const requests = batch ? parsed : [parsed];
    const socket = await this.open();
    return new Promise<RawNodeResponse>((resolve, reject) => {
      const call: Call = { batch, requests, answers: [], remaining: 0, timer: undefined as unknown as NodeJS.Timeout, resolve, reject };
      const ids: number[] = [];
      const wire = requests.map((request, slot) => {
        if (request.id === undefined) return request;
        const id = this.nextId++;
        ids.push(id);
        this.pending.set(id, { call, slot });
        call.remaining++;
        return { ...request, id };
      });
      if (call.remaining === 0) {
        socket.send(JSON.stringify(batch ? wire : wire[0]));
        resolve(raw(''));
        return;
      }
      call.timer = setTimeout(() => {
        for (const id of ids) this.pending.delete(id);
        reject(new DownstreamTimeoutError(this.options.timeoutMs));
      }, this.options.timeoutMs);
      socket.send(JSON.stringify(batch ? wire : wire[0]), (error) => {
        if (error) this.fail(ids, new DownstreamUnavailableError(true, { cause: error }));
      });
    });
  }

  /** Closes the socket for good (the client went away): pending posts fail, no onDrop. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPing();
    this.rejectAll(new DownstreamUnavailableError(true));
    this.subscriptions.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      // A close handshake with a node that is gone would wait ws's 30 s close timeout.
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
      else socket.terminate();
    }
  }

  private open(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new DownstreamUnavailableError(false));
    if (this.socket?.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private connect(): Promise<WebSocket> {
    const where = describeNodeUrl(this.options.url);
    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.options.url, { handshakeTimeout: this.options.timeoutMs, perMessageDeflate: false });
      const failed = (error: Error) => {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.terminate();
        this.options.logger.warn({ node: where, err: error.message }, "the Ethereum node's WebSocket is not reachable");
        reject(new NodeWebSocketUnavailableError({ cause: error }));
      };
      socket.once('error', failed);
      socket.once('close', () => failed(new Error('closed during the handshake')));
      socket.once('open', () => {
        socket.removeAllListeners();
        if (this.closed) {
          socket.close(1000);
          reject(new DownstreamUnavailableError(false));
          return;
        }
        this.options.logger.debug({ node: where }, "opened a WebSocket to the Ethereum node");
        this.socket = socket;
        socket.on('message', (data) => this.receive(String(data)));
        socket.on('error', (error) => this.options.logger.debug({ node: where, err: error.message }, "error on the Ethereum node's WebSocket"));
        socket.on('close', (code, reason) => this.dropped(socket, `closed by the node (${code}${reason.length ? ` ${String(reason)}` : ''})`));
        this.stopPing = keepAlive(socket, this.options.pingIntervalMs);
        resolve(socket);
      });
    });
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.options.logger.debug({ bytes: text.length }, 'the node sent a WebSocket message that is not JSON; dropped');
      return;
    }
    const items = Array.isArray(message) ? message : [message];
    let answered = false;
    for (const item of items) {
      const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
      const entry = typeof id === 'number' ? this.pending.get(id) : undefined;
      if (!entry) continue;
      answered = true;
      this.pending.delete(id as number);
      this.answer(entry, item as Record<string, unknown>);
    }
    if (!answered) this.options.onNotification(text);
  }

  private answer({ call, slot }: Pending, item: Record<string, unknown>): void {
    const request = call.requests[slot] ?? {};
    this.track(request, item);
    call.answers[slot] = { ...item, id: request.id };
    if (--call.remaining > 0) return;
    clearTimeout(call.timer);
    const answers = call.answers.filter((a): a is Record<string, unknown> => a !== undefined);
    call.resolve(raw(JSON.stringify(call.batch ? answers : answers[0])));
  }

  /** Counts what the node confirmed, so a drop can tell whether the client lost subscriptions. */
  private track(request: WireRequest, answer: Record<string, unknown>): void {
    if (typeof request.method !== 'string') return;
    if (/_subscribe$/.test(request.method) && typeof answer['result'] === 'string') this.subscriptions.add(answer['result']);
    if (/_unsubscribe$/.test(request.method) && answer['result'] === true && Array.isArray(request.params)) this.subscriptions.delete(String(request.params[0]));
  }

  private dropped(socket: WebSocket, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.stopPing();
    const lost = this.subscriptions.size;
    this.subscriptions.clear();
    this.rejectAll(new DownstreamUnavailableError(true));
    if (this.closed) return;
    this.options.logger.warn({ node: describeNodeUrl(this.options.url), subscriptions: lost, reason }, "the Ethereum node's WebSocket dropped");
    this.options.onDrop(lost, reason);
  }


  private fail(ids: number[], error: JsonRpcError): void {
    const calls = new Set<Call>();
    for (const id of ids) {
      const entry = this.pending.get(id);
      if (!entry) continue;
      this.pending.delete(id);
      calls.add(entry.call);
    }
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(error);
    }
  }

  private rejectAll(error: JsonRpcError): void {
    this.fail([...this.pending.keys()], error);
  }
}

function raw(body: string): RawNodeResponse {
  return { status: 200, body, contentType: 'application/json' };
}
