import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import { failureResponse, InternalJsonRpcError, InvalidRequestError } from '@hsm-signer/ethereum';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkHealth } from './health';
import { GATEWAY, type GatewayContext } from './gateway-context';
import type { HttpReply } from './rpc/json-rpc-handler';
import { BodyTooLargeError, readBody } from './rpc/read-body';

@Controller()
export class RpcController {
  constructor(@Inject(GATEWAY) private readonly gateway: GatewayContext) {}

  /** The JSON-RPC endpoint. The raw body is read here (Nest's parser is off) so bad JSON is a -32700. */
  @Post()
  async rpc(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req, this.gateway.config.bodyLimitBytes);
    } catch (error) {
      const tooLarge = error instanceof BodyTooLargeError;
      const e = new InvalidRequestError(tooLarge ? error.message : 'could not read the request body', { httpStatus: tooLarge ? 413 : 400 });
      res.setHeader('connection', 'close');
      send(res, e.httpStatus, 'application/json', JSON.stringify(failureResponse(null, e.toJSON())));
      req.resume();
      return;
    }
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && header.length > 0 ? header : undefined;
    const started = Date.now();
    let reply: HttpReply;
    try {
      reply = await this.gateway.handler.handle(body, { requestId });
    } catch (error) {
      // The handler answers every failure itself; this only guards against a bug reaching Nest's HTML 500.
      this.gateway.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'unhandled error in the JSON-RPC handler');
      reply = { status: 500, contentType: 'application/json', body: JSON.stringify(failureResponse(null, new InternalJsonRpcError().toJSON())) };
    }
    send(res, reply.status, reply.contentType, reply.body);
    this.gateway.logger.debug({ status: reply.status, bytesIn: body.length, bytesOut: reply.body.length, ms: Date.now() - started, requestId }, 'POST /');
  }

  @Get('health')
  async health(@Res() res: ServerResponse): Promise<void> {
    const report = await checkHealth(this.gateway.bus, this.gateway.node, this.gateway.healthTimeoutMs);
    send(res, report.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(report));
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.end(body);
}
