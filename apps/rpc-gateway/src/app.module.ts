import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsModule } from '@hsm-signer/metrics';
import { GATEWAY, type GatewayContext } from './gateway-context';
import { RpcController } from './rpc.controller';

@Injectable()
class GatewayShutdown implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(GATEWAY) private readonly gateway: GatewayContext) {}
  /** Before the HTTP server closes: it would wait for upgraded (WebSocket) connections forever. */
  async beforeApplicationShutdown(): Promise<void> {
    this.gateway.logger.info('shutting down: draining HTTP and WebSocket connections');
    this.gateway.drain?.begin();
    await this.gateway.websocket.close();
  }
  async onApplicationShutdown(): Promise<void> {
    this.gateway.drain?.end();
    this.gateway.accounts.stop();
    // `submitted` records still in flight go out before the connection closes.
    await this.gateway.sender.flush();
    await this.gateway.bus.close();
    await this.gateway.node.close();
  }
}

@Module({})
export class RpcGatewayModule {
  static register(gateway: GatewayContext): DynamicModule {
    return {
      module: RpcGatewayModule,
      // GET /metrics goes through Express like GET /health (create-gateway.ts routes only POST / past it).
      imports: [MetricsModule.register(gateway.metrics?.registry)],
      controllers: [RpcController],
      providers: [{ provide: GATEWAY, useValue: gateway }, GatewayShutdown],
    };
  }
}
