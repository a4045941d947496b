import {
  failureResponse,
  InternalJsonRpcError,
  JsonRpcError,
  NodeError,
  parseJsonRpcPayload,
  ServiceUnavailableError,
  successResponse,
  toJsonRpcError,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '@hsm-signer/ethereum';
import type { EthNodeClient } from '@hsm-signer/transactions';
import type { Logger } from 'pino';
import { mergeBatch, planBatch, upstreamRequests, type UpstreamOutcome } from './batch';
import type { LocalMethods } from './local-methods';
import type { GatewayMetrics } from '../metrics';
import { idempotencyKey } from './request-id';

export interface HttpReply {
  status: number;
  /** Empty for a notification-only request (HTTP 204). */
  body: string;
  contentType: string;
}

export interface RequestContext {
  /** X-Request-Id as the client sent it: idempotency key of an eth_sendTransaction. */
  requestId?: string;
}

const JSON_TYPE = 'application/json';

/**
 * The JSON-RPC adapter: turns one HTTP body into one HTTP reply. Intercepted methods are answered
 * through {@link LocalMethods}; everything else goes to the node unchanged. A single pass-through
 * request is relayed byte for byte (status, body, content type: research/rpc-signers.md §1.2); a
 * batch is split, its pass-through part sent upstream as one batch, and merged back in order.
 */
export class JsonRpcHandler {
  constructor(
    private readonly node: Pick<EthNodeClient, 'post'>,
    private readonly local: LocalMethods,
    private readonly options: { maxBatchSize: number; logger: Logger; metrics?: GatewayMetrics },
  ) {}

  async handle(body: string, context: RequestContext = {}): Promise<HttpReply> {
    let payload;
    try {
      payload = parseJsonRpcPayload(body, { maxBatchSize: this.options.maxBatchSize });
    } catch (error) {
      const e = toJsonRpcError(error);
      this.options.metrics?.error(e.code);
      return reply(e.httpStatus, failureResponse(null, e.toJSON()));
    }
    if (payload.kind === 'single') return this.single(payload.request, body, context);

    const plan = planBatch(payload.entries, (m) => this.local.handles(m));
    if (this.options.metrics) for (const { error } of plan.invalid) this.options.metrics.error(error.code);
    const [localAnswers, upstream] = await Promise.all([
      Promise.all(
        plan.local.map(async ({ index, request }) => {
          // One X-Request-Id for a whole batch: each send gets its own key, derived from its id.
          const requestId = request.id === undefined ? undefined : idempotencyKey(context.requestId, request.id);
          return [index, await this.answerLocally(request, { requestId })] as const;
        }),
      ),
      plan.forward.length > 0 ? this.forwardBatch(upstreamRequests(plan)) : Promise.resolve(undefined),
    ]);
    const responses = mergeBatch(plan, new Map(localAnswers), upstream);
    if (responses.length === 0) return { status: 204, body: '', contentType: JSON_TYPE };
    return reply(200, responses);
  }

  private async single(request: JsonRpcRequest, rawBody: string, context: RequestContext): Promise<HttpReply> {
    if (this.local.handles(request.method)) {
      const { response, status } = await this.answerLocallyWithStatus(request, { requestId: idempotencyKey(context.requestId) });
      if (request.id === undefined) return { status: 204, body: '', contentType: JSON_TYPE };
      return reply(status, response);
    }
    this.options.logger.debug({ method: request.method, id: request.id }, 'pass-through');
    try {
      const upstream = await this.node.post(rawBody);
      this.options.metrics?.passedThrough(1, upstream.status >= 200 && upstream.status < 300);
      return { status: upstream.status, body: upstream.body, contentType: upstream.contentType };
    } catch (error) {
      const e = this.report(error, request);
      this.options.metrics?.passedThrough(1, false, e.code);
      return reply(e.httpStatus, failureResponse(request.id, e.toJSON()));
    }
  }

  private async answerLocally(request: JsonRpcRequest, context: RequestContext): Promise<JsonRpcResponse> {
    return (await this.answerLocallyWithStatus(request, context)).response;
  }

  private async answerLocallyWithStatus(request: JsonRpcRequest, context: RequestContext): Promise<{ response: JsonRpcResponse; status: number }> {
    const started = performance.now();
    try {
      const result = await this.local.call(request, context);
      this.options.metrics?.answered(request.method, started);
      this.options.logger.debug({ method: request.method, id: request.id, ms: Math.round(performance.now() - started) }, 'answered');
      return { response: successResponse(request.id, result), status: 200 };
    } catch (error) {
      const e = this.report(error, request);
      this.options.metrics?.answered(request.method, started, e.code);
      return { response: failureResponse(request.id, e.toJSON()), status: jsonRpcErrorStatus(e) };
    }
  }

  private async forwardBatch(requests: JsonRpcRequest[]): Promise<UpstreamOutcome> {
    this.options.logger.debug({ methods: requests.map((r) => r.method) }, 'pass-through batch');
    try {
      const upstream = await this.node.post(JSON.stringify(requests));
      this.options.metrics?.passedThrough(requests.length, upstream.status >= 200 && upstream.status < 300);
      try {
        return { ok: true, status: upstream.status, body: JSON.parse(upstream.body) };
      } catch {
        return { ok: true, status: upstream.status, body: undefined };
      }
    } catch (error) {
      const e = this.report(error);
      this.options.metrics?.passedThrough(requests.length, false, e.code);
      return { ok: false, error: e };
    }
  }

  /**
   * Logs by severity and returns what the client may see. Client mistakes and the node's own
   * answers are debug; our services or the node being unavailable is a warning; anything
   * unexpected is an error with its cause (never sent to the client).
   */
  private report(error: unknown, request?: JsonRpcRequest): JsonRpcError {
    const e = toJsonRpcError(error);
    const where = request ? { method: request.method, id: request.id as JsonRpcId | undefined } : {};
    if (e instanceof InternalJsonRpcError) {
      this.options.logger.error({ ...where, err: describeCause(e) }, e.message);
    } else if (e instanceof ServiceUnavailableError || e.httpStatus >= 500) {
      this.options.logger.warn({ ...where, cause: describeCause(e) }, e.message);
    } else {
      this.options.logger.debug({ ...where, code: e.code, node: e instanceof NodeError }, e.message);
    }
    return e;
  }
}

/**
 * The HTTP status of an error the gateway answers itself for one request. geth and anvil answer
 * JSON-RPC errors with 200, and the clients rely on it: on any other status ethers v6 throws
 * SERVER_ERROR "server response 400 Bad Request" and viem HttpRequestError "HTTP request failed",
 * both without the JSON-RPC code and message (measured against this gateway, ethers 6 and viem 2).
 * So only "not there right now, try again" keeps its status (502, 503, 504: viem retries those for
 * reads, never for sends); invalid params, an unknown sender, a refused signature or an internal
 * error are 200 with their JSON-RPC code. Errors in the body itself (-32700, -32600) keep their 400
 * (issue 2), and the REST gateway keeps every status (JsonRpcError.httpStatus).
 */
export function jsonRpcErrorStatus(error: JsonRpcError): number {
  return error.httpStatus >= 502 && error.httpStatus <= 504 ? error.httpStatus : 200;
}

function reply(status: number, body: unknown): HttpReply {
  return { status, body: JSON.stringify(body), contentType: JSON_TYPE };
}

function describeCause(error: Error): string | undefined {
  const cause = error.cause;
  if (cause === undefined) return undefined;
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return `${cause.name}: ${cause.message}${inner}`;
  }
  return String(cause);
}
