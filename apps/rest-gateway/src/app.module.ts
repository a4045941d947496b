import { Catch, Inject, Injectable, Module, NotFoundException, type ArgumentsHost, type DynamicModule, type ExceptionFilter, type OnApplicationShutdown, type BeforeApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MetricsModule } from '@hsm-signer/metrics';
import type { ServerResponse } from 'node:http';
import { BUS, StatusController } from './status.controller';
import { RestController } from './rest.controller';
import { REST_CONTEXT, type RestContext } from './rest-context';
import { RestErrorCode } from './errors';
import { sendJson } from './api/respond';

const SHUTDOWN = Symbol('shutdown');

/** `before`: ahead of the HTTP server's close (start draining its connections); `after`: once it is closed. */
export interface GatewayShutdown {
  before(): void;
  after(): Promise<void>;
}

@Injectable()
class Shutdown implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(SHUTDOWN) private readonly steps: GatewayShutdown) {}
  beforeApplicationShutdown(): void {
    this.steps.before();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.steps.after();
  }
}

/** Unknown routes and methods answer in the REST error shape, not Nest's. */
@Catch(NotFoundException)
class NotFoundFilter implements ExceptionFilter {
  catch(_exception: NotFoundException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<{ method?: string; url?: string }>();
    sendJson(http.getResponse<ServerResponse>(), 404, { error: `No route for ${req.method} ${req.url?.split('?')[0]}`, code: RestErrorCode.NotFound });
  }
}

@Module({})
export class RestGatewayModule {
  static register(context: RestContext, shutdown: GatewayShutdown): DynamicModule {
    return {
      module: RestGatewayModule,
      // Disabled: no route, so GET /metrics is the REST 404 of NotFoundFilter.
      imports: [MetricsModule.register(context.metrics?.registry)],
      controllers: [StatusController, RestController],
      providers: [
        { provide: BUS, useValue: context.bus },
        { provide: REST_CONTEXT, useValue: context },
        { provide: SHUTDOWN, useValue: shutdown },
        { provide: APP_FILTER, useClass: NotFoundFilter },
        Shutdown,
      ],
    };
  }
}
