import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsBus } from '@hsm-signer/messaging';
import { BUS, StatusController } from './status.controller';

@Injectable()
class CloseBus implements OnApplicationShutdown {
  constructor(@Inject(BUS) private readonly bus: NatsBus) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

/** The REST API itself (ABIs, contracts, deploy, invoke) is its own issue; this is the skeleton it grows in. */
@Module({})
export class RestGatewayModule {
  static register(bus: NatsBus): DynamicModule {
    return { module: RestGatewayModule, controllers: [StatusController], providers: [{ provide: BUS, useValue: bus }, CloseBus] };
  }
}
