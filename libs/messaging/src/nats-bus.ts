import { connect, JSONCodec, ErrorCode as NatsErrorCode, type NatsConnection, type Subscription, NatsError } from 'nats';
import {
  ContractViolationError,
  ErrorCode,
  isWireError,
  parseBatchReply,
  parseBatchResult,
  type BatchReplyEnvelope,
  type BatchRoute,
  type EventRoute,
  type Route,
  type WireError,
} from '@hsm-signer/contracts';
import { wrapEvent, wrapRequest, type NestReplyEnvelope } from './envelope';
import { MessagingUnavailableError, NoRespondersError, RemoteServiceError, RequestTimeoutError } from './errors';
import { ReplyMux } from './reply-mux';
import { RequestCoalescer } from './request-coalescer';

const codec = JSONCodec<unknown>();

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface NatsBusOptions {
  /** Comma-separated NATS server URLs. */
  servers: string;
  /** Connection name shown in NATS monitoring. */
  name: string;
  /** Default request timeout. */
  requestTimeoutMs?: number;
}

/**
 * The client side of the service mesh: typed, validated request/reply over NATS plus event
 * publish/subscribe. Replies are validated with the route's parser on receipt.
 */
export class NatsBus {
  private readonly coalescers = new Map<string, RequestCoalescer<unknown, unknown>>();
  private readonly replies: ReplyMux;

  private constructor(
    readonly connection: NatsConnection,
    private readonly defaultTimeoutMs: number,
  ) {
    this.replies = new ReplyMux(connection);
  }

  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const connection = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Async stack traces cost ~25% at high concurrency (research/style-and-performance.md §1.3).
      noAsyncTraces: true,
    });
    return new NatsBus(connection, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  async request<Req, Rep>(route: Route<Req, Rep>, payload: Req, options: { timeoutMs?: number } = {}): Promise<Rep> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    if (this.connection.isClosed()) throw new MessagingUnavailableError('NATS connection is closed');
    let raw;
    try {
      raw = await this.replies.request(route.subject, codec.encode(wrapRequest(route.subject, payload)), timeoutMs);
    } catch (error) {
      throw translateNatsError(error, route.subject, timeoutMs);
    }
    const envelope = codec.decode(raw.data) as NestReplyEnvelope;
    if (envelope.err !== undefined && envelope.err !== null) {
      const err = toWireError(envelope.err);
      throw new RemoteServiceError(route.subject, err.code, err.message);
    }
    try {
      return route.reply(envelope.response);
    } catch (error) {
      if (error instanceof ContractViolationError) {
        throw new RemoteServiceError(route.subject, ErrorCode.Internal, `malformed reply on ${route.subject}: ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Like {@link request}, but the request travels in one batch message with every other request of
   * the same route made during this event-loop turn (contracts batch.ts). The caller sees exactly
   * what {@link request} would give it: its own reply, or its own error (RemoteServiceError), or the
   * transport error of the whole message (NoResponders, RequestTimeout, MessagingUnavailable).
   */
  requestBatched<Req, Rep>(route: BatchRoute<Req, Rep>, payload: Req): Promise<Rep> {
    let coalescer = this.coalescers.get(route.subject) as RequestCoalescer<Req, Rep> | undefined;
    if (!coalescer) {
      coalescer = new RequestCoalescer<Req, Rep>((items) => this.sendBatch(route, items));
      this.coalescers.set(route.subject, coalescer as RequestCoalescer<unknown, unknown>);
    }
    return coalescer.submit(payload);
  }

  private async sendBatch<Req, Rep>(route: BatchRoute<Req, Rep>, items: Req[]): Promise<Array<Rep | Error>> {
    const envelopeRoute: Route<{ items: Req[] }, BatchReplyEnvelope> = { subject: route.subject, request: (v) => v as { items: Req[] }, reply: (v) => parseBatchReply(v, items.length) };
    const envelope = await this.request(envelopeRoute, { items });
    return envelope.results.map((result, i) => {
      const parsed = parseBatchResult(route, result, i);
      return 'ok' in parsed ? parsed.ok : new RemoteServiceError(route.item.subject, parsed.err.code, parsed.err.message);
    });
  }

  publish<E>(event: EventRoute<E>, payload: E): void {
    this.connection.publish(event.subject, codec.encode(wrapEvent(event.subject, payload)));
  }

  /**
   * Every subscriber receives every event (no queue group): each gateway replica keeps its own cache.
   * Invalid events are reported to `onInvalid` and dropped.
   */
  subscribe<E>(event: EventRoute<E>, handler: (payload: E) => void, onInvalid?: (error: unknown) => void): Subscription {
    return this.connection.subscribe(event.subject, {
      callback: (err, msg) => {
        if (err) return onInvalid?.(err);
        try {
          const envelope = codec.decode(msg.data) as { data?: unknown };
          handler(event.payload(envelope.data));
        } catch (error) {
          onInvalid?.(error);
        }
      },
    });
  }

  async close(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain();
  }
}

function toWireError(err: unknown): WireError {
  if (isWireError(err)) return err;
  // Nest's own packets: unhandled exceptions become {status:'error', message:'Internal server error'}.
  const message = typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  return { code: ErrorCode.Internal, message };
}

function translateNatsError(error: unknown, subject: string, timeoutMs: number): Error {
  if (error instanceof NatsError) {
    if (error.code === NatsErrorCode.NoResponders) return new NoRespondersError(subject, { cause: error });
    if (error.code === NatsErrorCode.Timeout) return new RequestTimeoutError(subject, timeoutMs, { cause: error });
    if (error.code === NatsErrorCode.ConnectionClosed || error.code === NatsErrorCode.ConnectionDraining) {
      return new MessagingUnavailableError(`NATS connection unavailable: ${error.message}`, { cause: error });
    }
  }
  return error instanceof Error ? error : new Error(String(error));
}
