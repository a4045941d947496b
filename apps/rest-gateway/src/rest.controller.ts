import { All, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAbiUpload } from './upload';
import { swaggerUiAsset } from './openapi';
import { RestError, RestErrorCode } from './errors';
import { SpecialParams } from './http/special-params';
import type { HttpAnswer } from './dispatch/transaction-dispatcher';
import { baseUrlOf, handle, sendJson } from './api/respond';
import { abiInfo } from './api/registry';
import { parseAddressSegment } from './api/tx-params';
import { eventsNotSupported } from './api/invoke';
import { REST_CONTEXT, type RestContext } from './rest-context';

type Described = HttpAnswer & { headers?: Record<string, string>; html?: string };

/**
 * The ethconnect REST routes (research/rest-gateway.md §2.1). Handlers take the raw request (Nest's
 * body parser is off: bodies are JSON, YAML or multipart, and errors must be ethconnect's JSON) and
 * delegate to the api/ modules; this class only maps paths.
 */
@Controller()
export class RestController {
  constructor(@Inject(REST_CONTEXT) private readonly ctx: RestContext) {}

  private run(req: IncomingMessage, res: ServerResponse, route: () => Promise<Described>): Promise<void> {
    return handle(req, res, this.ctx.logger, async () => {
      const answer = await route();
      if (answer.html !== undefined) {
        res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', ...answer.headers });
        res.end(answer.html);
        return;
      }
      sendJson(res, answer.status, answer.body ?? null, answer.headers);
    });
  }

  private special(req: IncomingMessage): SpecialParams {
    return new SpecialParams(new URL(req.url ?? '/', 'http://gateway').searchParams, req.headers, this.ctx.prefixes);
  }

  // ABIs -------------------------------------------------------------------------------------------

  @Post('abis')
  upload(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, async () => {
      const result = await parseAbiUpload(req, new URL(req.url ?? '/', 'http://gateway').searchParams, { maxBytes: this.ctx.config.uploadLimitBytes });
      if (result.kind === 'find-solidity') return { status: 200, body: result.files };
      if (result.kind === 'find-contracts') return { status: 200, body: result.contracts };
      const stored = await this.ctx.store.createAbi(result.upload);
      return { status: 200, body: abiInfo(stored, baseUrlOf(req, this.ctx.config.baseUrl)) };
    });
  }

  @Get('abis')
  listAbis(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.registry.listAbis(req));
  }

  @Get('abis/:abi')
  getAbi(@Param('abi') abi: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.registry.getAbi(req, abi));
  }

  /** Deploy (the constructor). */
  @Post('abis/:abi')
  deploy(@Param('abi') abi: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, async () => {
      const stored = await this.ctx.registry.abiOrThrow(abi);
      return this.ctx.invoker.invoke(req, { abiId: stored.id, abi: stored.abi, bytecode: stored.bytecode, deployable: stored.deployable }, undefined);
    });
  }

  /** Registers an existing contract under this ABI. */
  @Post('abis/:abi/:address')
  register(@Param('abi') abi: string, @Param('address') address: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.registry.register(req, abi, address, this.special(req).string('register')));
  }

  @Get('abis/:abi/:address/:method')
  callAbiMethod(@Param('abi') abi: string, @Param('address') address: string, @Param('method') method: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.abiMethod(abi, address, method, req, res);
  }

  @Post('abis/:abi/:address/:method')
  postAbiMethod(@Param('abi') abi: string, @Param('address') address: string, @Param('method') method: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.abiMethod(abi, address, method, req, res);
  }

  private abiMethod(abi: string, address: string, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.run(req, res, async () => {
      const stored = await this.ctx.registry.abiOrThrow(abi);
      // POST /abis/{abi}/{Event}/subscribe: the address slot holds an event name (FE route table).
      if (method === 'subscribe' && !/^(0x)?[0-9a-fA-F]{40}$/.test(address)) throw eventsNotSupported();
      return this.ctx.invoker.invoke(req, { abiId: stored.id, abi: stored.abi, address: parseAddressSegment(address) }, method);
    });
  }

  // Contracts --------------------------------------------------------------------------------------

  @Get('contracts')
  listContracts(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.registry.listContracts(req));
  }

  @Get('contracts/:contract')
  getContract(@Param('contract') contract: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.registry.getContract(req, contract));
  }

  @Get('contracts/:contract/:method')
  callContract(@Param('contract') contract: string, @Param('method') method: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.contractMethod(contract, method, req, res);
  }

  @Post('contracts/:contract/:method')
  postContract(@Param('contract') contract: string, @Param('method') method: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.contractMethod(contract, method, req, res);
  }

  private contractMethod(contract: string, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.run(req, res, async () => {
      const { contract: instance, abi } = await this.ctx.registry.contractOrThrow(contract);
      return this.ctx.invoker.invoke(req, { abiId: abi.id, abi: abi.abi, address: instance.address }, method);
    });
  }

  // Events: not built (ethconnect answers the same when its events DB is not configured) ----------

  @All(['abis/:abi/:address/:event/subscribe', 'contracts/:contract/:event/subscribe', 'eventstreams', 'eventstreams/*path', 'subscriptions', 'subscriptions/*path', 'ws'])
  events(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => Promise.reject(eventsNotSupported()));
  }

  // Replies ----------------------------------------------------------------------------------------

  @Get('replies')
  listReplies(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.replies.list(new URL(req.url ?? '/', 'http://gateway').searchParams));
  }

  @Get(['replies/:id', 'reply/:id'])
  getReply(@Param('id') id: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.replies.get(id));
  }

  // Webhook messages -------------------------------------------------------------------------------

  @Post(['', 'hook', 'fasthook'])
  hook(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.run(req, res, () => this.ctx.webhook.handle(req));
  }

  // The API exerciser's static files (swagger-ui-dist, served locally: no CDN) -------------------

  @Get('api-exerciser/assets/:name')
  asset(@Param('name') name: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return handle(req, res, this.ctx.logger, async () => {
      const file = swaggerUiAsset(name);
      if (!file) throw new RestError(404, RestErrorCode.NotFound, `No asset '${name}'`);
      res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'public, max-age=86400' });
      res.end(file.body);
    });
  }
}
