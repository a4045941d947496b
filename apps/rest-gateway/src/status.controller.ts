import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { NatsBus } from '@hsm-signer/messaging';
import type { ServerResponse } from 'node:http';

export const BUS = Symbol('NatsBus');

@Controller()
export class StatusController {
  constructor(@Inject(BUS) private readonly bus: NatsBus) {}

  /** {"ok":true} while the gateway is joined to NATS; 503 {"ok":false} once the connection is closed. */
  @Get('status')
  status(@Res() res: ServerResponse): void {
    const ok = !this.bus.connection.isClosed();
    res.statusCode = ok ? 200 : 503;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok }));
  }
}
